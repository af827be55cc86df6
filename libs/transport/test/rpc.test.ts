import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMIT } from './helpers.js';
import {
  TransportErrorCode,
  TransportError,
  commitSubject,
  commitSubjectAll,
  connectTransport,
  isTransportError,
  readSubject,
  type EventMessage,
} from '../src/index.js';
import { dec, enc, eventually, rig } from './helpers.js';

test('request/reply: answers, remote errors keep their code, nobody listening is NO_RESPONDERS', LIMIT, async () => {
  const r = await rig(2);
  try {
    const service = r.transport.serve(readSubject(r.layout, 1), async (req) => {
      const text = dec(req.data);
      if (text === 'missing') throw new TransportError(TransportErrorCode.BAD_INPUT, 'no such key');
      if (text === 'boom') throw new Error('plain failure');
      return enc(`value of ${text}`);
    });
    assert.equal(dec(await r.transport.request(readSubject(r.layout, 1), enc('k1'), 2_000)), 'value of k1');
    await assert.rejects(r.transport.request(readSubject(r.layout, 1), enc('missing'), 2_000), (err: unknown) => {
      assert.ok(isTransportError(err, TransportErrorCode.REMOTE_ERROR));
      assert.equal(err.details.remote_code, TransportErrorCode.BAD_INPUT);
      return true;
    });
    await assert.rejects(r.transport.request(readSubject(r.layout, 1), enc('boom'), 2_000), (err: unknown) => {
      assert.ok(isTransportError(err, TransportErrorCode.REMOTE_ERROR));
      assert.equal(err.details.remote_code, TransportErrorCode.REMOTE_ERROR);
      return true;
    });
    await assert.rejects(r.transport.request(readSubject(r.layout, 0), enc('k'), 2_000), (err: unknown) =>
      isTransportError(err, TransportErrorCode.NO_RESPONDERS),
    );
    await service.stop();
    await assert.rejects(r.transport.request(readSubject(r.layout, 1), enc('k'), 2_000), (err: unknown) =>
      isTransportError(err, TransportErrorCode.NO_RESPONDERS),
    );
  } finally {
    await r.close();
  }
});

test('a service answers BACKPRESSURE beyond its in-flight bound; a slow one times out', LIMIT, async () => {
  const r = await rig(1);
  try {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const subject = readSubject(r.layout, 0);
    const service = r.transport.serve(
      subject,
      async (req) => {
        await gate;
        return req.data;
      },
      { in_flight_max: 2 },
    );
    const held = [r.transport.request(subject, enc('a'), 5_000), r.transport.request(subject, enc('b'), 5_000)];
    await eventually(() => service.inFlight() === 2, 5_000, 'two requests in flight');
    await assert.rejects(r.transport.request(subject, enc('c'), 5_000), (err: unknown) =>
      isTransportError(err, TransportErrorCode.BACKPRESSURE),
    );
    await assert.rejects(r.transport.request(subject, enc('d'), 5_000), (err: unknown) =>
      isTransportError(err, TransportErrorCode.BACKPRESSURE),
    );
    assert.equal(service.refused(), 2, 'each refusal is counted');
    release();
    assert.deepEqual((await Promise.all(held)).map(dec), ['a', 'b']);
    assert.equal(service.refused(), 2, 'answered requests are not refusals');
    let wake!: () => void;
    const late = new Promise<void>((resolve) => (wake = resolve));
    const slow = r.transport.serve('slow.subject', async () => {
      await late;
      return enc('too late');
    });
    await assert.rejects(r.transport.request('slow.subject', enc('x'), 200), (err: unknown) =>
      isTransportError(err, TransportErrorCode.TIMEOUT),
    );
    wake();
    await slow.stop();
    await service.stop();
  } finally {
    await r.close();
  }
});

test('commit events reach every subscriber, by shard or by wildcard', LIMIT, async () => {
  const r = await rig(3);
  try {
    const other = await connectTransport({ servers: r.server.url, layout: r.layout });
    const one: EventMessage[] = [];
    const all: EventMessage[] = [];
    const subOne = other.subscribe(commitSubject(r.layout, 2), (e) => one.push(e));
    const subAll = other.subscribe(commitSubjectAll(r.layout), (e) => all.push(e));
    await other.flush();
    r.transport.publishEvent(commitSubject(r.layout, 2), enc('size=5'), { 'Cairn-Shard': '2' });
    r.transport.publishEvent(commitSubject(r.layout, 0), enc('size=1'));
    await r.transport.flush();
    await eventually(() => one.length === 1 && all.length === 2, 5_000, 'events');
    assert.equal(dec(one[0]?.data ?? new Uint8Array()), 'size=5');
    assert.equal(one[0]?.headers['Cairn-Shard'], '2');
    assert.deepEqual(all.map((e) => e.subject).sort(), [commitSubject(r.layout, 0), commitSubject(r.layout, 2)]);
    subOne.stop();
    subAll.stop();
    await other.close();
  } finally {
    await r.close();
  }
});

test('calls on a closed transport fail with CLOSED', LIMIT, async () => {
  const r = await rig(1);
  await r.transport.close();
  await r.transport.close();
  await assert.rejects(r.transport.request('x', enc('y'), 100), (err: unknown) => isTransportError(err, TransportErrorCode.CLOSED));
  assert.throws(() => r.transport.publishEvent('x', enc('y')), (err: unknown) => isTransportError(err, TransportErrorCode.CLOSED));
  await r.server.stop();
});

test('without async traces a request still answers, and its failures keep their codes', LIMIT, async () => {
  const r = await rig(1);
  const lean = await connectTransport({ servers: r.server.url, layout: r.layout, async_traces: false });
  try {
    const subject = readSubject(r.layout, 0);
    await assert.rejects(lean.request(subject, enc('k'), 2_000), (err: unknown) => isTransportError(err, TransportErrorCode.NO_RESPONDERS));
    let wake!: () => void;
    const late = new Promise<void>((resolve) => (wake = resolve));
    const service = r.transport.serve(subject, async (req) => {
      if (dec(req.data) === 'slow') await late;
      if (dec(req.data) === 'missing') throw new TransportError(TransportErrorCode.BAD_INPUT, 'no such key');
      return enc(`value of ${dec(req.data)}`);
    });
    await r.transport.flush();
    assert.equal(dec(await lean.request(subject, enc('k1'), 2_000)), 'value of k1');
    await assert.rejects(lean.request(subject, enc('missing'), 2_000), (err: unknown) => isTransportError(err, TransportErrorCode.REMOTE_ERROR) && err.details.remote_code === TransportErrorCode.BAD_INPUT);
    await assert.rejects(lean.request(subject, enc('slow'), 200), (err: unknown) => isTransportError(err, TransportErrorCode.TIMEOUT));
    wake();
    await service.stop();
  } finally {
    await lean.close();
    await r.close();
  }
});
