import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { nobleHasher } from '@cairn/merkle';
import { hashRecords, hashRecordsJs } from '../src/hash-task.js';
import { NATIVE_HASH_PATH, nativeHash, nativeHashStatus } from '../src/native-hash.js';
import { packBatch, PackBuffer } from '../src/pack.js';
import { PreparedRecord, type PreparedTx } from '../src/input.js';
import { keyHash } from '../src/key-hash.js';
import { keyPrefix } from '../src/layout.js';

// The addon must give exactly node:crypto's bytes; when it is built it must also load, so a
// broken build cannot hide behind the fallback.

const utf8 = new TextEncoder();

function batchOf(txs: { id: string; meta: Uint8Array; records: { key: string; value: Uint8Array }[] }[], firstLeaf: number): { accepted: PreparedRecord[]; committed: { tx: PreparedTx }[] } {
  const accepted: PreparedRecord[] = [];
  const committed: { tx: PreparedTx }[] = [];
  let leaf = firstLeaf;
  txs.forEach((input, txOrdinal) => {
    const records: PreparedRecord[] = input.records.map((r, i) => {
      const prefix = keyPrefix(utf8.encode(r.key));
      const record = new PreparedRecord(r.key, keyHash(r.key), prefix, r.value, undefined);
      record.version = i + 1;
      record.leafIndex = leaf + i;
      record.txOrdinal = txOrdinal;
      return record;
    });
    const tx: PreparedTx = { id: input.id, idBytes: utf8.encode(input.id), contentHash: new Uint8Array(32), meta: input.meta, records };
    committed.push({ tx });
    accepted.push(...records);
    leaf += records.length;
  });
  return { accepted, committed };
}

const txArb = fc.record({
  id: fc.string({ minLength: 1, maxLength: 12 }),
  meta: fc.uint8Array({ maxLength: 200 }),
  records: fc.array(fc.record({ key: fc.string({ minLength: 1, maxLength: 20 }), value: fc.uint8Array({ maxLength: 300 }) }), { minLength: 1, maxLength: 6 }),
});

describe('native hashing', () => {
  it('loads whenever it was built', () => {
    if (existsSync(NATIVE_HASH_PATH) && process.env['CAIRN_NATIVE_HASH'] !== '0') {
      assert.equal(nativeHashStatus, 'loaded');
      assert.ok(nativeHash !== undefined);
    } else {
      assert.equal(nativeHash, undefined);
    }
  });

  it('hashRecords gives node:crypto bytes for every leaf, trailer and leaf hash', () => {
    fc.assert(
      fc.property(fc.array(txArb, { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 600 }), (txs, firstLeaf) => {
        const { accepted, committed } = batchOf(txs, firstLeaf);
        const viaJs = packBatch(accepted, committed, firstLeaf, new PackBuffer(false));
        const jsBytes = new Uint8Array(viaJs.shared).slice();
        hashRecordsJs({ ...viaJs, begin: 0, end: viaJs.count });
        const expected = new Uint8Array(viaJs.shared).slice();
        const viaMain = packBatch(accepted, committed, firstLeaf, new PackBuffer(true));
        hashRecords({ ...viaMain, begin: 0, end: viaMain.count });
        const used = expected.length;
        assert.deepEqual(new Uint8Array(viaMain.shared).subarray(0, used), expected.subarray(0, used));
        // The packing itself left zeroed trailers: hashing changed them.
        assert.notDeepEqual(jsBytes.subarray(0, used), expected.subarray(0, used));
      }),
      { numRuns: 60 },
    );
  });

  it('hashPairs gives RFC 6962 node hashes, also reducing a level in place', { skip: nativeHash === undefined && 'addon not built' }, () => {
    const native = nativeHash;
    if (native === undefined) return;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 2 ** 31 }), (pairs, shift, seed) => {
        const bytes = new Uint8Array(32 + 64 * pairs);
        for (let i = 0; i < bytes.length; i += 1) bytes[i] = (seed + i * 131) % 251;
        const inAt = 32 - shift;
        const want = Array.from({ length: pairs }, (_, i) =>
          nobleHasher.node(bytes.slice(inAt + 64 * i, inAt + 64 * i + 32), bytes.slice(inAt + 64 * i + 32, inAt + 64 * i + 64)),
        );
        native.hashPairs(bytes, inAt, pairs, 32);
        want.forEach((hash, i) => assert.deepEqual(bytes.subarray(32 + 32 * i, 64 + 32 * i), hash));
      }),
      { numRuns: 80 },
    );
  });

  it('refuses arguments outside the buffer instead of reading or writing past it', { skip: nativeHash === undefined && 'addon not built' }, () => {
    const native = nativeHash;
    if (native === undefined) return;
    const bytes = new Uint8Array(256);
    assert.throws(() => native.hashPairs(bytes, 200, 1, 0), { code: 'CAIRN_NATIVE_HASH' });
    assert.throws(() => native.hashPairs(bytes, 0, 1, 33), { code: 'CAIRN_NATIVE_HASH' });
    assert.throws(() => native.hashPairs(bytes, 0, 5, 0), { code: 'CAIRN_NATIVE_HASH' });
    assert.throws(() => native.hashRecords(bytes, 0, 0, 250, 0, 1), { code: 'CAIRN_NATIVE_HASH' });
    // A record table row pointing past the end of the buffer.
    const words = new Uint32Array(bytes.buffer);
    words[0] = 1000;
    words[1] = 10;
    assert.throws(() => native.hashRecords(bytes, 0, 64, 128, 0, 1), { code: 'CAIRN_NATIVE_HASH' });
    assert.throws(() => (native.hashPairs as unknown as (...a: unknown[]) => void)(new Uint16Array(8), 0, 0, 0), { code: 'CAIRN_NATIVE_HASH' });
  });
});
