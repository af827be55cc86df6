import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hash } from 'node:crypto';
import { encodeLeaf } from '@cairn/wire';
import { hashRecords } from '../src/hash-task.js';
import { PreparedRecord, type PreparedTx } from '../src/input.js';
import { keyHash } from '../src/key-hash.js';
import { decodeChunk, keyPrefix } from '../src/layout.js';
import { packBatch, PackBuffer } from '../src/pack.js';

// packBatch writes leaves itself (no DataView, no subarray per record); once hashed they must be
// byte for byte what @cairn/wire's encodeLeaf gives, from any id, key and version, in a buffer
// reused with other contents.

const utf8 = new TextEncoder();
const sha256 = (data: Uint8Array): Uint8Array => new Uint8Array(hash('sha256', data, 'buffer'));

const txArb = fc.record({
  id: fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
  meta: fc.uint8Array({ maxLength: 64 }),
  records: fc.array(
    fc.record({ key: fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }), value: fc.uint8Array({ maxLength: 64 }), version: fc.integer({ min: 1, max: 2 ** 53 - 1 }) }),
    { minLength: 1, maxLength: 5 },
  ),
});

describe('packBatch', () => {
  const reused = new PackBuffer(false);
  it('lays out leaves that, once hashed, equal encodeLeaf', () => {
    fc.assert(
      fc.property(fc.array(txArb, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 2 ** 40 }), (inputs, firstLeaf) => {
        const committed: { tx: PreparedTx }[] = [];
        const accepted: PreparedRecord[] = [];
        inputs.forEach((input, txOrdinal) => {
          const records = input.records.map((r, i) => {
            const record = new PreparedRecord(r.key, keyHash(r.key), keyPrefix(utf8.encode(r.key)), r.value, undefined);
            record.version = r.version;
            record.leafIndex = firstLeaf + accepted.length + i;
            record.txOrdinal = txOrdinal;
            return record;
          });
          committed.push({ tx: { id: input.id, idBytes: utf8.encode(input.id), contentHash: new Uint8Array(32), meta: input.meta, records } });
          accepted.push(...records);
        });
        // Garbage from an earlier batch must not show through.
        new Uint8Array(reused.take(1 << 16)).fill(0xa5);
        const packed = packBatch(accepted, committed, firstLeaf, reused);
        hashRecords({ ...packed, begin: 0, end: packed.count });
        const leaves = packed.chunks.flatMap((chunk) => decodeChunk(chunk.leaves, 'leaf'));
        assert.equal(leaves.length, accepted.length);
        accepted.forEach((record, i) => {
          const tx = (committed[record.txOrdinal] as { tx: PreparedTx }).tx;
          const want = encodeLeaf({ txId: tx.id, key: record.key, version: record.version, valueHash: sha256(record.value), metaHash: sha256(tx.meta) });
          assert.deepEqual(leaves[i], want);
        });
      }),
      { numRuns: 150 },
    );
  });
});
