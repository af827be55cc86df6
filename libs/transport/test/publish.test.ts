import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMIT } from './helpers.js';
import {
  ATOMIC_BATCH_MSGS_MAX,
  MSG_ID_LENGTH_MAX,
  PUBLISH_OVERHEAD_BYTES_MAX,
  TransportErrorCode,
  isTransportError,
  shardSubject,
  type OutboundMessage,
} from '../src/index.js';
import { dec, enc, rig, storedMessages, streamLastSeq } from './helpers.js';

test('an atomic batch across shard subjects lands whole at contiguous sequences', LIMIT, async () => {
  const r = await rig(3);
  try {
    await r.transport.publish({ subject: shardSubject(r.layout, 0), data: enc('before') });
    const msgs: OutboundMessage[] = [0, 1, 2, 1, 0].map((shard, i) => ({
      subject: shardSubject(r.layout, shard),
      data: enc(`part-${i}`),
      msgId: `tx-1:${i}`,
      headers: { 'Cairn-Part': String(i) },
    }));
    const ack = await r.transport.publishAtomic(msgs);
    assert.equal(ack.count, 5);
    assert.equal(ack.firstSeq, 2);
    assert.equal(ack.lastSeq, 6);
    const stored = await storedMessages(r.transport);
    assert.equal(stored.length, 6);
    for (let i = 0; i < 5; i += 1) {
      const m = stored[i + 1];
      assert.ok(m !== undefined);
      assert.equal(m.seq, ack.firstSeq + i);
      assert.equal(m.subject, msgs[i]?.subject);
      assert.equal(dec(m.data), `part-${i}`);
      assert.equal(m.header.get('Cairn-Part'), String(i));
      assert.equal(m.header.get('Nats-Batch-Id'), ack.batchId);
    }
  } finally {
    await r.close();
  }
});

test('a single-message batch commits on its only message', LIMIT, async () => {
  const r = await rig(2);
  try {
    const ack = await r.transport.publishAtomic([{ subject: shardSubject(r.layout, 1), data: enc('solo') }]);
    assert.deepEqual([ack.firstSeq, ack.lastSeq, ack.count], [1, 1, 1]);
  } finally {
    await r.close();
  }
});

test('a batch with a duplicate msg id stores nothing, and says DUPLICATE', LIMIT, async () => {
  const r = await rig(3);
  try {
    await r.transport.publishAtomic([{ subject: shardSubject(r.layout, 0), data: enc('a'), msgId: 'tx-7:0' }]);
    const before = await streamLastSeq(r.transport);
    const retry = [
      { subject: shardSubject(r.layout, 1), data: enc('fresh'), msgId: 'tx-8:0' },
      { subject: shardSubject(r.layout, 2), data: enc('fresh'), msgId: 'tx-8:1' },
      { subject: shardSubject(r.layout, 0), data: enc('again'), msgId: 'tx-7:0' },
    ];
    await assert.rejects(r.transport.publishAtomic(retry), (err: unknown) => {
      assert.ok(isTransportError(err, TransportErrorCode.DUPLICATE), String(err));
      assert.equal(err.details.server_err_code, 10201);
      return true;
    });
    // A duplicate inside one batch is refused the same way.
    const twice = [
      { subject: shardSubject(r.layout, 1), data: enc('x'), msgId: 'tx-9:0' },
      { subject: shardSubject(r.layout, 2), data: enc('y'), msgId: 'tx-9:0' },
    ];
    await assert.rejects(r.transport.publishAtomic(twice), (err: unknown) => isTransportError(err, TransportErrorCode.DUPLICATE));
    assert.equal(await streamLastSeq(r.transport), before, 'nothing of a rejected batch is stored');
    // The fresh ids of the rejected batch were not consumed by it: they publish fine now.
    const ok = await r.transport.publishAtomic(retry.slice(0, 2));
    assert.equal(ok.firstSeq, before + 1);
  } finally {
    await r.close();
  }
});

test('an incomplete batch (a message lost in the middle) stores nothing', LIMIT, async () => {
  const r = await rig(2);
  try {
    const { headers } = await import('@nats-io/transport-node');
    const h = (seq: number, commit = false) => {
      const x = headers();
      x.set('Nats-Batch-Id', 'hand-made-batch');
      x.set('Nats-Batch-Sequence', String(seq));
      if (commit) x.set('Nats-Batch-Commit', '1');
      return x;
    };
    // Sequence 2 never arrives, as if lost: the server must refuse the commit.
    r.transport.nc.publish(shardSubject(r.layout, 0), enc('one'), { headers: h(1) });
    const reply = await r.transport.nc.request(shardSubject(r.layout, 1), enc('three'), { headers: h(3, true), timeout: 3_000 });
    assert.match(dec(reply.data), /"err_code":10176/);
    assert.equal(await streamLastSeq(r.transport), 0);
  } finally {
    await r.close();
  }
});

test('concurrent batches never interleave', LIMIT, async () => {
  const r = await rig(4);
  try {
    const batches = 24;
    const acks = await Promise.all(
      Array.from({ length: batches }, (_, b) =>
        r.transport.publishAtomic(
          Array.from({ length: 3 + (b % 5) }, (_, i) => ({
            subject: shardSubject(r.layout, (b + i) % 4),
            data: enc(`${b}:${i}`),
            msgId: `b${b}:${i}`,
          })),
        ),
      ),
    );
    const stored = await storedMessages(r.transport);
    assert.equal(stored.length, acks.reduce((n, a) => n + a.count, 0));
    for (const [b, ack] of acks.entries()) {
      for (let i = 0; i < ack.count; i += 1) {
        const m = stored[ack.firstSeq - 1 + i];
        assert.ok(m !== undefined);
        assert.equal(dec(m.data), `${b}:${i}`, `batch ${b} message ${i} at its own contiguous place`);
      }
    }
    // Batches are disjoint ranges.
    const ranges = acks.map((a) => [a.firstSeq, a.lastSeq] as const).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < ranges.length; i += 1) assert.ok((ranges[i]?.[0] ?? 0) > (ranges[i - 1]?.[1] ?? 0));
  } finally {
    await r.close();
  }
});

test('headers count against max_payload: data up to max_payload - PUBLISH_OVERHEAD_BYTES_MAX goes through, with the longest msg id', LIMIT, async () => {
  const r = await rig(2);
  try {
    const room = r.transport.maxPayloadBytes - PUBLISH_OVERHEAD_BYTES_MAX;
    // In an atomic batch each message carries every protocol header there is, the longest id too.
    const full = [0, 1].map((shard) => ({ subject: shardSubject(r.layout, shard), data: new Uint8Array(room).fill(7), msgId: 'i'.repeat(MSG_ID_LENGTH_MAX - 1) + String(shard) }));
    const ack = await r.transport.publishAtomic(full);
    assert.equal(ack.count, 2);
    const over = [{ ...(full[0] as (typeof full)[number]), data: new Uint8Array(room + 1), msgId: 'over' }];
    await assert.rejects(r.transport.publishAtomic(over), (err: unknown) => isTransportError(err, TransportErrorCode.MESSAGE_TOO_LARGE), 'refused here, before nats.js or the server');
    assert.equal((await storedMessages(r.transport)).length, 2);
  } finally {
    await r.close();
  }
});

test('more than 1,000 messages, empty batches and foreign subjects are refused before sending', LIMIT, async () => {
  const r = await rig(1);
  try {
    const subject = shardSubject(r.layout, 0);
    const big = Array.from({ length: ATOMIC_BATCH_MSGS_MAX + 1 }, () => ({ subject, data: enc('x') }));
    await assert.rejects(r.transport.publishAtomic(big), (err: unknown) => isTransportError(err, TransportErrorCode.BATCH_TOO_LARGE));
    await assert.rejects(r.transport.publishAtomic([]), (err: unknown) => isTransportError(err, TransportErrorCode.BAD_INPUT));
    await assert.rejects(r.transport.publishAtomic([{ subject: 'elsewhere', data: enc('x') }]), (err: unknown) =>
      isTransportError(err, TransportErrorCode.BAD_INPUT),
    );
    await assert.rejects(r.transport.publish({ subject, data: enc('x'), headers: { 'Nats-Batch-Id': 'x' } }), (err: unknown) =>
      isTransportError(err, TransportErrorCode.BAD_INPUT),
    );
    await assert.rejects(r.transport.publish({ subject, data: new Uint8Array(r.transport.maxPayloadBytes + 1) }), (err: unknown) =>
      isTransportError(err, TransportErrorCode.MESSAGE_TOO_LARGE),
    );
    // Exactly the limit is accepted by the server.
    const full = Array.from({ length: ATOMIC_BATCH_MSGS_MAX }, (_, i) => ({ subject, data: enc(String(i)) }));
    const ack = await r.transport.publishAtomic(full);
    assert.deepEqual([ack.firstSeq, ack.lastSeq], [1, ATOMIC_BATCH_MSGS_MAX]);
  } finally {
    await r.close();
  }
});

test('batches beyond the in-flight bound are pushed back, not queued', LIMIT, async () => {
  const r = await rig(2);
  try {
    const subject = shardSubject(r.layout, 0);
    const calls = Array.from({ length: 40 }, (_, i) => r.transport.publishAtomic([{ subject, data: enc(String(i)) }, { subject, data: enc('y') }]));
    const results = await Promise.allSettled(calls);
    const ok = results.filter((x) => x.status === 'fulfilled').length;
    const pushedBack = results.filter((x) => x.status === 'rejected' && isTransportError(x.reason, TransportErrorCode.BACKPRESSURE)).length;
    assert.equal(ok, 32);
    assert.equal(pushedBack, 8);
    assert.equal(r.transport.atomicBatchesInFlight(), 0);
  } finally {
    await r.close();
  }
});

test('the server limit of 50 open batches per stream surfaces as BACKPRESSURE', LIMIT, async () => {
  const r = await rig(1);
  try {
    const { headers } = await import('@nats-io/transport-node');
    const subject = shardSubject(r.layout, 0);
    // Another publisher holds 50 batches open (they are abandoned by the server after 10 s).
    for (let b = 0; b < 50; b += 1) {
      const h = headers();
      h.set('Nats-Batch-Id', `held-${b}`);
      h.set('Nats-Batch-Sequence', '1');
      await r.transport.nc.request(subject, enc('open'), { headers: h, timeout: 3_000 });
    }
    await assert.rejects(r.transport.publishAtomic([{ subject, data: enc('a') }, { subject, data: enc('b') }]), (err: unknown) => {
      assert.ok(isTransportError(err, TransportErrorCode.BACKPRESSURE), String(err));
      assert.equal(err.details.server_err_code, 10210);
      return true;
    });
  } finally {
    await r.close();
  }
});

test('plain publish deduplicates by msg id', LIMIT, async () => {
  const r = await rig(2);
  try {
    const subject = shardSubject(r.layout, 1);
    const first = await r.transport.publish({ subject, data: enc('one'), msgId: 'tx-1' });
    const again = await r.transport.publish({ subject, data: enc('one'), msgId: 'tx-1' });
    const other = await r.transport.publish({ subject, data: enc('two'), msgId: 'tx-2' });
    assert.deepEqual([first.seq, first.duplicate], [1, false]);
    assert.deepEqual([again.seq, again.duplicate], [1, true]);
    assert.deepEqual([other.seq, other.duplicate], [2, false]);
    assert.equal(await streamLastSeq(r.transport), 2);
  } finally {
    await r.close();
  }
});

test('property: concurrent batches with reused msg ids are each all-or-nothing and contiguous', LIMIT, async () => {
  const fc = (await import('fast-check')).default;
  const r = await rig(3);
  try {
    let round = 0;
    const outcomes = { accepted: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(
        // Each batch: its messages' shards, and for each message maybe an id reused from an earlier message.
        fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.option(fc.nat(), { freq: 6 })), { minLength: 1, maxLength: 12 }), {
          minLength: 1,
          maxLength: 10,
        }),
        async (plan) => {
          round += 1;
          const before = await streamLastSeq(r.transport);
          let fresh = 0;
          const ids: string[] = [];
          const batches = plan.map((msgs, b) =>
            msgs.map(([shard, reuse], i) => {
              const id = reuse !== null && ids.length > 0 ? (ids[reuse % ids.length] as string) : `r${round}.${fresh++}`;
              ids.push(id);
              return { subject: shardSubject(r.layout, shard), data: enc(`${round}/${b}/${i}`), msgId: id };
            }),
          );
          const results = await Promise.allSettled(batches.map((msgs) => r.transport.publishAtomic(msgs)));
          const stored = await storedMessages(r.transport, before + 1);
          const where = new Map(stored.map((m) => [dec(m.data), m.seq]));
          let accepted = 0;
          for (const [b, result] of results.entries()) {
            const msgs = batches[b] ?? [];
            if (result.status === 'fulfilled') {
              outcomes.accepted += 1;
              accepted += msgs.length;
              msgs.forEach((m, i) => assert.equal(where.get(dec(m.data)), result.value.firstSeq + i));
            } else {
              outcomes.rejected += 1;
              assert.ok(isTransportError(result.reason, TransportErrorCode.DUPLICATE), String(result.reason));
              for (const m of msgs) assert.equal(where.has(dec(m.data)), false, 'nothing of a rejected batch');
            }
          }
          assert.equal(stored.length, accepted);
        },
      ),
      { numRuns: 15 },
    );
    assert.ok(outcomes.accepted > 0 && outcomes.rejected > 0, `both outcomes exercised: ${JSON.stringify(outcomes)}`);
  } finally {
    await r.close();
  }
});
