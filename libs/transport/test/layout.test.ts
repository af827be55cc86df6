import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMIT } from './helpers.js';
import fc from 'fast-check';
import { startNatsServer } from '@cairn/testkit';
import {
  LAYOUT_DEFAULTS,
  SHARD_COUNT_MAX,
  TransportErrorCode,
  connectTransport,
  isTransportError,
  shardOfSubject,
  shardSubject,
  shardSubjects,
  streamLayout,
} from '../src/index.js';

test('named defaults, and every bound checked at start', () => {
  const layout = streamLayout({ shard_count: 4 });
  assert.equal(layout.stream, LAYOUT_DEFAULTS.stream);
  assert.equal(layout.replicas, 1);
  assert.equal(layout.duplicate_window_ms, 120_000);
  assert.ok(Object.isFrozen(layout));
  assert.deepEqual(shardSubjects(layout), ['ledger.shard.0', 'ledger.shard.1', 'ledger.shard.2', 'ledger.shard.3']);
  const bad = [
    { shard_count: 0 },
    { shard_count: SHARD_COUNT_MAX + 1 },
    { shard_count: 1.5 },
    { shard_count: 2, replicas: 0 },
    { shard_count: 2, replicas: 6 },
    { shard_count: 2, stream: 'has.dot' },
    { shard_count: 2, subject_prefix: 'Bad Prefix' },
    { shard_count: 2, subject_prefix: 'x.*' },
    { shard_count: 2, duplicate_window_ms: 10 },
  ];
  for (const opts of bad) {
    assert.throws(() => streamLayout(opts), (err: unknown) => isTransportError(err, TransportErrorCode.CONFIG), JSON.stringify(opts));
  }
  assert.throws(() => shardSubject(layout, 4), (err: unknown) => isTransportError(err, TransportErrorCode.BAD_INPUT));
  assert.throws(() => shardSubject(layout, -1), (err: unknown) => isTransportError(err, TransportErrorCode.BAD_INPUT));
});

test('shardOfSubject inverts shardSubject and rejects everything else', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: SHARD_COUNT_MAX }), fc.nat(), (count, pick) => {
      const layout = streamLayout({ shard_count: count });
      const shard = pick % count;
      assert.equal(shardOfSubject(layout, shardSubject(layout, shard)), shard);
      assert.equal(shardOfSubject(layout, `ledger.shard.${count}`), undefined);
      assert.equal(shardOfSubject(layout, `ledger.shard.0${shard}`), undefined);
    }),
  );
  const layout = streamLayout({ shard_count: 3 });
  for (const s of ['ledger.shard.', 'ledger.shard.-1', 'ledger.shard.1.x', 'other.shard.1', 'ledger.shard.1e0']) {
    assert.equal(shardOfSubject(layout, s), undefined, s);
  }
});

test('ensureStream creates once, verifies after, and refuses a different shard count', LIMIT, async () => {
  const server = await startNatsServer();
  try {
    const three = streamLayout({ shard_count: 3 });
    const a = await connectTransport({ servers: server.url, layout: three });
    const created = await a.ensureStream();
    assert.equal(created.config.allow_atomic, true);
    assert.equal(created.config.storage, 'file');
    assert.equal(created.config.deny_purge, true);
    const again = await a.ensureStream();
    assert.equal(again.created, created.created);
    for (const other of [streamLayout({ shard_count: 4 }), streamLayout({ shard_count: 3, duplicate_window_ms: 60_000 })]) {
      const b = await connectTransport({ servers: server.url, layout: other });
      await assert.rejects(b.ensureStream(), (err: unknown) => isTransportError(err, TransportErrorCode.STREAM_MISMATCH));
      await b.close();
    }
    await a.close();
  } finally {
    await server.stop();
  }
});

test('connect failures and bad options are typed', LIMIT, async () => {
  const layout = streamLayout({ shard_count: 1 });
  await assert.rejects(connectTransport({ servers: 'nats://127.0.0.1:1', layout, connect_timeout_ms: 500 }), (err: unknown) =>
    isTransportError(err, TransportErrorCode.CONNECT),
  );
  await assert.rejects(connectTransport({ servers: 'nats://127.0.0.1:1', layout, batches_in_flight_max: 51 }), (err: unknown) =>
    isTransportError(err, TransportErrorCode.CONFIG),
  );
});
