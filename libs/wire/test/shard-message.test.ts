import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CairnError,
  decodeCommitEvent,
  decodeShardMessage,
  encodeCommitEvent,
  encodeShardMessage,
  encodedTxPartSize,
  shardMessageHeaderBytes,
  txStatuses,
  utf8Length,
  wireKind,
  wireVersion,
  type CommitEvent,
  type Expect,
  type ShardMessage,
  type TxPart,
} from '../src/index.js';

const utf8 = new TextEncoder();

const arbBytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const arbText = fc.string({ minLength: 1, maxLength: 24, unit: 'grapheme' });
const arbExpect: fc.Arbitrary<Expect | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant({ absent: true } as const),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).map((version) => ({ version })),
);

function arbMessage(): fc.Arbitrary<ShardMessage> {
  return fc.integer({ min: 0, max: 999 }).chain((shard) =>
    fc.record({
      shard: fc.constant(shard),
      txs: fc.array(arbPart(shard), { minLength: 1, maxLength: 5 }),
    }),
  );
}

function arbPart(shard: number): fc.Arbitrary<TxPart> {
  return fc.record({
    id: arbText,
    contentHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    meta: arbBytes(40),
    shards: fc
      .uniqueArray(fc.integer({ min: 0, max: 999 }), { maxLength: 4 })
      .map((s) => [...new Set([...s, shard])].sort((a, b) => a - b)),
    records: fc.array(fc.record({ key: arbText, value: arbBytes(64), expect: arbExpect }), { minLength: 1, maxLength: 6 }),
  });
}

function arbEvent(): fc.Arbitrary<CommitEvent> {
  const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  return fc.record({
    seq: safe,
    shard: fc.integer({ min: 0, max: 0xffff_ffff }),
    size: safe,
    root: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    txs: fc.array(
      fc.record({
        id: arbText,
        status: fc.constantFrom(...txStatuses),
        records: fc.array(fc.record({ key: arbText, version: safe, leafIndex: safe }), { maxLength: 4 }),
      }),
      { minLength: 1, maxLength: 5 },
    ),
  });
}

// The decoder adds keyBytes (a view); compare the logical content.
function normalize(m: ShardMessage): unknown {
  return JSON.parse(JSON.stringify({
    shard: m.shard,
    txs: m.txs.map((t) => ({
      id: t.id,
      contentHash: [...t.contentHash],
      meta: [...t.meta],
      shards: [...t.shards],
      records: t.records.map((r) => ({ key: r.key, value: [...r.value], expect: r.expect ?? 'none' })),
    })),
  }));
}

function assertCode(fn: () => unknown, codes: readonly string[]): void {
  assert.throws(fn, (e: unknown) => e instanceof CairnError && codes.includes(e.code));
}

test('shard message round-trips and its size is predicted exactly', () => {
  fc.assert(
    fc.property(arbMessage(), (m) => {
      const bytes = encodeShardMessage(m);
      assert.deepEqual(normalize(decodeShardMessage(bytes)), normalize(m));
      const predicted = m.txs.reduce((n, t) => n + encodedTxPartSize(t), shardMessageHeaderBytes);
      assert.equal(bytes.length, predicted);
      for (const t of decodeShardMessage(bytes).txs) {
        for (const r of t.records) assert.deepEqual(r.keyBytes, utf8.encode(r.key));
      }
    }),
  );
});

test('shard message: every truncation is a typed error, never a partial result', () => {
  fc.assert(
    fc.property(arbMessage(), (m) => {
      const bytes = encodeShardMessage(m);
      for (let n = 0; n < bytes.length; n++) {
        assertCode(() => decodeShardMessage(bytes.subarray(0, n)), ['wire_truncated', 'wire_malformed']);
      }
    }),
    { numRuns: 30 },
  );
});

test('shard message: trailing bytes, wrong version and wrong kind are refused', () => {
  const m: ShardMessage = {
    shard: 2,
    txs: [{ id: 'a', contentHash: new Uint8Array(32), meta: utf8.encode('{}'), shards: [2], records: [{ key: 'k', value: utf8.encode('1'), expect: undefined }] }],
  };
  const bytes = encodeShardMessage(m);
  assertCode(() => decodeShardMessage(new Uint8Array([...bytes, 0])), ['wire_malformed']);
  const v = bytes.slice();
  v[0] = wireVersion + 1;
  assertCode(() => decodeShardMessage(v), ['wire_version']);
  const k = bytes.slice();
  k[1] = wireKind.commitEvent;
  assertCode(() => decodeShardMessage(k), ['wire_malformed']);
});

test('shard message: bad expect kind, bad UTF-8, and a shard list without the shard are refused', () => {
  const m: ShardMessage = {
    shard: 1,
    txs: [{ id: 'tx', contentHash: new Uint8Array(32), meta: new Uint8Array(0), shards: [1, 3], records: [{ key: 'key', value: new Uint8Array(0), expect: undefined }] }],
  };
  const bytes = encodeShardMessage(m);
  const badKind = bytes.slice();
  badKind[badKind.length - 1] = 3;
  assertCode(() => decodeShardMessage(badKind), ['wire_malformed']);
  const badUtf8 = bytes.slice();
  const idAt = shardMessageHeaderBytes + 2;
  badUtf8[idAt] = 0xff;
  assertCode(() => decodeShardMessage(badUtf8), ['wire_malformed']);
  const badShards = bytes.slice();
  // shard list: after header, id (2+2), hash (32), count (2): first entry is shard 1 -> make it 2,
  // still ascending (2 < 3) but no longer containing the message's shard.
  const listAt = shardMessageHeaderBytes + 2 + 2 + 32 + 2;
  badShards[listAt + 3] = 2;
  assertCode(() => decodeShardMessage(badShards), ['wire_malformed']);
});

test('shard message: a huge count cannot make the decoder allocate', () => {
  const bytes = new Uint8Array(shardMessageHeaderBytes);
  bytes[0] = wireVersion;
  bytes[1] = wireKind.shardMessage;
  bytes.fill(0xff, 6, 10);
  assertCode(() => decodeShardMessage(bytes), ['wire_truncated']);
});

test('shard message encoder refuses what it cannot encode faithfully', () => {
  const part: TxPart = { id: 'x', contentHash: new Uint8Array(32), meta: new Uint8Array(0), shards: [0], records: [{ key: 'k', value: new Uint8Array(0), expect: undefined }] };
  assert.throws(() => encodeShardMessage({ shard: 0, txs: [] }), RangeError);
  assert.throws(() => encodeShardMessage({ shard: 1, txs: [part] }), RangeError);
  assert.throws(() => encodeShardMessage({ shard: 0, txs: [{ ...part, shards: [0, 0] }] }), RangeError);
  assert.throws(() => encodeShardMessage({ shard: 0, txs: [{ ...part, contentHash: new Uint8Array(31) }] }), RangeError);
  assert.throws(() => encodeShardMessage({ shard: 0, txs: [{ ...part, records: [] }] }), RangeError);
  assert.throws(() => encodeShardMessage({ shard: 0, txs: [{ ...part, id: '' }] }), RangeError);
});

test('commit event round-trips', () => {
  fc.assert(
    fc.property(arbEvent(), (e) => {
      const d = decodeCommitEvent(encodeCommitEvent(e));
      const plain = (x: CommitEvent): unknown => JSON.parse(JSON.stringify({ ...x, root: [...x.root] }));
      assert.deepEqual(plain(d), plain(e));
    }),
  );
});

test('commit event: every truncation and any trailing byte is a typed error', () => {
  fc.assert(
    fc.property(arbEvent(), (e) => {
      const bytes = encodeCommitEvent(e);
      for (let n = 0; n < bytes.length; n++) {
        assertCode(() => decodeCommitEvent(bytes.subarray(0, n)), ['wire_truncated', 'wire_malformed']);
      }
      assertCode(() => decodeCommitEvent(new Uint8Array([...bytes, 7])), ['wire_malformed', 'wire_truncated']);
    }),
    { numRuns: 30 },
  );
});

test('commit event: unknown status, version above 2^53-1 and a shard message are refused', () => {
  const e: CommitEvent = { seq: 9, shard: 1, size: 3, root: new Uint8Array(32), txs: [{ id: 't', status: 'committed', records: [{ key: 'k', version: 1, leafIndex: 2 }] }] };
  const bytes = encodeCommitEvent(e);
  const statusAt = 1 + 1 + 8 + 4 + 8 + 32 + 4 + 2 + 1;
  const badStatus = bytes.slice();
  badStatus[statusAt] = txStatuses.length;
  assertCode(() => decodeCommitEvent(badStatus), ['wire_malformed']);
  const badVersion = bytes.slice();
  badVersion[statusAt + 1 + 4 + 2 + 1] = 0x00;
  badVersion[statusAt + 1 + 4 + 2 + 1 + 1] = 0x20; // hi word 0x0020_0000 = 2^53
  assertCode(() => decodeCommitEvent(badVersion), ['wire_malformed']);
  const asMessage = bytes.slice();
  asMessage[1] = wireKind.shardMessage;
  assertCode(() => decodeCommitEvent(asMessage), ['wire_malformed']);
  assert.throws(() => encodeCommitEvent({ ...e, seq: -1 }), RangeError);
  assert.throws(() => encodeCommitEvent({ ...e, root: new Uint8Array(3) }), RangeError);
});

test('u64 fields are big-endian with the high word first', () => {
  const e: CommitEvent = { seq: 2 ** 40 + 5, shard: 0, size: 0, root: new Uint8Array(32), txs: [{ id: 't', status: 'duplicate', records: [] }] };
  const bytes = encodeCommitEvent(e);
  assert.deepEqual([...bytes.subarray(2, 10)], [0, 0, 1, 0, 0, 0, 0, 5]);
});

test('utf8Length equals the length TextEncoder produces, lone surrogates included', () => {
  const unit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit }), fc.string({ unit: 'grapheme' }), fc.string()), (s) => {
      assert.equal(utf8Length(s), utf8.encode(s).length);
    }),
    { numRuns: 500 },
  );
});

test('non-ASCII ids and keys are written as UTF-8', () => {
  const m: ShardMessage = {
    shard: 0,
    txs: [{ id: 'ü-😀', contentHash: new Uint8Array(32), meta: new Uint8Array(0), shards: [0], records: [{ key: 'ключ', value: new Uint8Array(1), expect: undefined }] }],
  };
  const d = decodeShardMessage(encodeShardMessage(m));
  assert.equal(d.txs[0]?.id, 'ü-😀');
  assert.equal(d.txs[0]?.records[0]?.key, 'ключ');
  assert.deepEqual(d.txs[0]?.records[0]?.keyBytes, utf8.encode('ключ'));
});
