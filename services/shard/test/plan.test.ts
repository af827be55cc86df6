import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeEpochMarker, encodeShardMessage, type TxPart } from '@cairn/wire';
import { decodeMessage, planRuns, runTxs, ShardError, type Decoded } from '../src/index.js';

const layout = { shard: 1, shards: 3 };

function part(id: string, records: number): TxPart {
  const recs = [];
  for (let i = 0; i < records; i += 1) recs.push({ key: `{t}:${id}:${i}`, value: new TextEncoder().encode(`${i}`), expect: undefined });
  return { id, contentHash: new Uint8Array(32).fill(7), meta: new TextEncoder().encode('{}'), shards: [1], records: recs };
}

function txMessage(seq: number, ...parts: TxPart[]): Decoded {
  return decodeMessage({ seq, data: encodeShardMessage({ shard: 1, txs: parts }) }, layout);
}

function marker(seq: number): Decoded {
  return decodeMessage({ seq, data: encodeEpochMarker({ shard: 1, shardCount: 3, epoch: seq }) }, layout);
}

const wide = { merge_msgs_max: 100, merge_records_max: 1_000_000, merge_bytes_max: 1 << 30 };

test('decodes transaction messages and markers; refuses other shards and garbage as rejected', () => {
  const m = txMessage(5, part('a', 2), part('b', 3));
  assert.equal(m.kind, 'txs');
  assert.equal(m.kind === 'txs' && m.records, 5);
  assert.equal(marker(6).kind, 'marker');
  const other = decodeMessage({ seq: 7, data: encodeShardMessage({ shard: 2, txs: [{ ...part('c', 1), shards: [2] }] }) }, layout);
  assert.equal(other.kind, 'rejected');
  const otherLayout = decodeMessage({ seq: 8, data: encodeEpochMarker({ shard: 1, shardCount: 4, epoch: 1 }) }, layout);
  assert.equal(otherLayout.kind, 'rejected');
  assert.equal(decodeMessage({ seq: 9, data: Uint8Array.of(1, 1, 0) }, layout).kind, 'rejected');
  assert.equal(decodeMessage({ seq: 10, data: Uint8Array.of(1, 77) }, layout).kind, 'rejected');
});

test('a message from a newer wire version stops the shard instead of being skipped', () => {
  assert.throws(
    () => decodeMessage({ seq: 1, data: Uint8Array.of(9, 1, 0, 0) }, layout),
    (e: unknown) => e instanceof ShardError && e.code === 'SHARD_WIRE_VERSION',
  );
});

test('markers and rejected messages are always alone in their run; order is kept', () => {
  const runs = planRuns([txMessage(1, part('a', 1)), txMessage(2, part('b', 1)), marker(3), txMessage(5, part('c', 1))], wide);
  assert.deepEqual(runs.map((r) => r.msgs.map((m) => m.seq)), [[1, 2], [3], [5]]);
  assert.deepEqual(runs.map((r) => r.seq), [2, 3, 5]);
  assert.deepEqual(runTxs(runs[0]!).map((t) => t.id), ['a', 'b']);
});

test('merge bounds hold; merge_msgs_max = 1 disables merging; an oversize message is alone, never split', () => {
  const msgs = [txMessage(1, part('a', 3)), txMessage(2, part('b', 3)), txMessage(3, part('c', 10)), txMessage(4, part('d', 1))];
  assert.deepEqual(planRuns(msgs, { ...wide, merge_records_max: 6 }).map((r) => r.msgs.length), [2, 1, 1]);
  assert.deepEqual(planRuns(msgs, { ...wide, merge_msgs_max: 1 }).map((r) => r.msgs.length), [1, 1, 1, 1]);
});

test('out-of-order input is an internal error', () => {
  assert.throws(() => planRuns([txMessage(2, part('a', 1)), txMessage(1, part('b', 1))], wide), ShardError);
});

test('property: runs partition the input in order, markers alone, every run within its bounds', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 8 })), { minLength: 0, maxLength: 40 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 20 }),
      (shape, msgsMax, recordsMax) => {
        const msgs = shape.map((n, i) => (n < 0 ? marker(i + 1) : txMessage(i + 1, part(`t${i}`, n))));
        const runs = planRuns(msgs, { merge_msgs_max: msgsMax, merge_records_max: recordsMax, merge_bytes_max: 1 << 30 });
        assert.deepEqual(runs.flatMap((r) => r.msgs.map((m) => m.seq)), msgs.map((m) => m.seq));
        for (const run of runs) {
          assert.equal(run.seq, run.msgs[run.msgs.length - 1]!.seq);
          if (run.msgs.some((m) => m.kind !== 'txs')) assert.equal(run.msgs.length, 1);
          assert.ok(run.msgs.length <= msgsMax);
          const records = run.msgs.reduce((n, m) => n + (m.kind === 'txs' ? m.records : 0), 0);
          if (run.msgs.length > 1) assert.ok(records <= recordsMax);
        }
      },
    ),
  );
});
