import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CairnError,
  decodeEpochMarker,
  decodeShardMessage,
  encodeEpochMarker,
  encodeShardMessage,
  epochMarkerBytes,
  epochMarkerKind,
  messageKind,
  wireKind,
} from '../src/index.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CairnError, `expected a CairnError, got ${String(error)}`);
    return error.code;
  }
  return 'no error';
}

test('the marker kind does not collide with another registered kind', () => {
  assert.ok(!(Object.values(wireKind) as number[]).includes(epochMarkerKind));
});

test('known-answer encoding', () => {
  const bytes = encodeEpochMarker({ shard: 2, shardCount: 3, epoch: 2 ** 32 + 5 });
  assert.equal(Buffer.from(bytes).toString('hex'), '0103' + '00000002' + '00000003' + '00000001' + '00000005');
  assert.equal(bytes.length, epochMarkerBytes);
});

test('round trip over the whole value range', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), fc.nat(), fc.maxSafeNat(), (shardCount, s, epoch) => {
      const marker = { shard: s % shardCount, shardCount, epoch };
      assert.deepEqual(decodeEpochMarker(encodeEpochMarker(marker)), marker);
    }),
  );
});

test('messageKind tells markers from shard messages; each decoder refuses the other', () => {
  const marker = encodeEpochMarker({ shard: 0, shardCount: 1, epoch: 1 });
  const message = encodeShardMessage({
    shard: 0,
    txs: [{ id: 't', contentHash: new Uint8Array(32), meta: new Uint8Array(0), shards: [0], records: [{ key: 'k', value: new Uint8Array(1), expect: undefined }] }],
  });
  assert.equal(messageKind(marker), epochMarkerKind);
  assert.equal(messageKind(message), wireKind.shardMessage);
  assert.equal(codeOf(() => decodeShardMessage(marker)), 'wire_malformed');
  assert.equal(codeOf(() => decodeEpochMarker(message)), 'wire_malformed');
});

test('malformed markers are refused with stable codes', () => {
  const good = encodeEpochMarker({ shard: 1, shardCount: 2, epoch: 7 });
  assert.equal(codeOf(() => decodeEpochMarker(good.subarray(0, 1))), 'wire_truncated');
  assert.equal(codeOf(() => decodeEpochMarker(good.subarray(0, epochMarkerBytes - 1))), 'wire_truncated');
  assert.equal(codeOf(() => decodeEpochMarker(Uint8Array.of(...good, 0))), 'wire_malformed');
  const version = good.slice();
  version[0] = 9;
  assert.equal(codeOf(() => decodeEpochMarker(version)), 'wire_version');
  const shardBeyond = good.slice();
  shardBeyond[5] = 2; // shard 2 of 2
  assert.equal(codeOf(() => decodeEpochMarker(shardBeyond)), 'wire_malformed');
  const hugeEpoch = good.slice();
  hugeEpoch[10] = 0xff;
  assert.equal(codeOf(() => decodeEpochMarker(hugeEpoch)), 'wire_malformed');
});

test('encoder refuses values the format cannot carry', () => {
  assert.throws(() => encodeEpochMarker({ shard: 2, shardCount: 2, epoch: 0 }), RangeError);
  assert.throws(() => encodeEpochMarker({ shard: 0, shardCount: 0, epoch: 0 }), RangeError);
  assert.throws(() => encodeEpochMarker({ shard: 0, shardCount: 1, epoch: -1 }), RangeError);
  assert.throws(() => encodeEpochMarker({ shard: 0, shardCount: 1, epoch: 2 ** 53 }), RangeError);
});
