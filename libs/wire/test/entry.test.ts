import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { leafHash, nobleHasher } from '@cairn/merkle';
import {
  LEAF_FORMAT_V1,
  LEAF_FIXED_BYTES,
  decodeLeaf,
  encodeLeaf,
  encodeLeafInto,
  leafEncodedBytes,
  type LeafEntry,
} from '../src/index.js';
import { CairnError } from '../src/errors.js';

interface Vector {
  txId: string;
  key: string;
  version: number;
  valueHex: string;
  metaHex: string;
  valueHash: string;
  metaHash: string;
  leafHex: string;
  leafHash: string;
}

// Tests run from dist/test; the vectors stay in the source tree.
const vectorsPath = fileURLToPath(new URL('../../test/vectors/leaf-v1.json', import.meta.url));
const vectors = (JSON.parse(readFileSync(vectorsPath, 'utf8')) as { vectors: Vector[] }).vectors;

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const unhex = (text: string): Uint8Array => Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CairnError, `expected CairnError, got ${String(error)}`);
    return error.code;
  }
  assert.fail('expected a throw');
}

test('known-answer vectors: encoding, decoding and RFC 6962 leaf hash', () => {
  assert.ok(vectors.length >= 3);
  for (const v of vectors) {
    const valueHash = nobleHasher.sha256(unhex(v.valueHex));
    const metaHash = nobleHasher.sha256(unhex(v.metaHex));
    assert.equal(hex(valueHash), v.valueHash);
    assert.equal(hex(metaHash), v.metaHash);
    const entry: LeafEntry = { txId: v.txId, key: v.key, version: v.version, valueHash, metaHash };
    const bytes = encodeLeaf(entry);
    assert.equal(hex(bytes), v.leafHex);
    assert.equal(hex(leafHash(bytes)), v.leafHash);
    assert.deepEqual(decodeLeaf(unhex(v.leafHex)), entry);
  }
});

const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
// Full Unicode including astral code points; fast-check's string units are well formed.
const leafString = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
const entryArb = fc
  .record({
    txId: leafString,
    key: leafString,
    version: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
    valueHash: hash32,
    metaHash: hash32,
  })
  .map((e): LeafEntry => ({ ...e }));

test('property: decode(encode(e)) == e and the size is fixed by the string lengths', () => {
  fc.assert(
    fc.property(entryArb, (entry) => {
      const bytes = encodeLeaf(entry);
      const utf8 = new TextEncoder();
      assert.equal(bytes.length, leafEncodedBytes(utf8.encode(entry.txId).length, utf8.encode(entry.key).length));
      assert.equal(bytes[0], LEAF_FORMAT_V1);
      assert.deepEqual(decodeLeaf(bytes), entry);
    }),
    { numRuns: 500 },
  );
});

test('property: encodeLeafInto writes the same bytes at any offset', () => {
  fc.assert(
    fc.property(entryArb, fc.nat(64), (entry, offset) => {
      const utf8 = new TextEncoder();
      const txId = utf8.encode(entry.txId);
      const key = utf8.encode(entry.key);
      const out = new Uint8Array(offset + leafEncodedBytes(txId.length, key.length) + 3);
      const n = encodeLeafInto(out, offset, txId, key, entry.version, entry.valueHash, entry.metaHash);
      assert.deepEqual(out.subarray(offset, offset + n), encodeLeaf(entry));
    }),
    { numRuns: 200 },
  );
});

test('property: different entries never share an encoding', () => {
  fc.assert(
    fc.property(entryArb, entryArb, (a, b) => {
      fc.pre(JSON.stringify({ ...a, valueHash: [...a.valueHash], metaHash: [...a.metaHash] }) !==
        JSON.stringify({ ...b, valueHash: [...b.valueHash], metaHash: [...b.metaHash] }));
      assert.notDeepEqual(encodeLeaf(a), encodeLeaf(b));
    }),
    { numRuns: 300 },
  );
});

test('property: every truncation and every extension is rejected', () => {
  fc.assert(
    fc.property(entryArb, fc.uint8Array({ minLength: 1, maxLength: 4 }), (entry, extra) => {
      const bytes = encodeLeaf(entry);
      for (let n = 0; n < bytes.length; n += 1) {
        assert.equal(codeOf(() => decodeLeaf(bytes.subarray(0, n))), 'wire_truncated');
      }
      const longer = new Uint8Array(bytes.length + extra.length);
      longer.set(bytes);
      longer.set(extra, bytes.length);
      assert.equal(codeOf(() => decodeLeaf(longer)), 'wire_malformed');
    }),
    { numRuns: 50 },
  );
});

test('fuzz: arbitrary bytes decode to a leaf whose encoding is those bytes, or a typed error', () => {
  const base = unhex(vectors[0]!.leafHex);
  // Random bytes, and the known leaf with random bytes overwritten (to get past the header often).
  const mutated = fc
    .tuple(fc.nat(base.length - 1), fc.uint8Array({ minLength: 1, maxLength: 8 }))
    .map(([at, patch]) => {
      const copy = base.slice();
      copy.set(patch.subarray(0, base.length - at), at);
      return copy;
    });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated), (bytes) => {
      let entry: LeafEntry;
      try {
        entry = decodeLeaf(bytes);
      } catch (error) {
        assert.ok(error instanceof CairnError, `not a CairnError: ${String(error)}`);
        assert.ok(['wire_truncated', 'wire_version', 'wire_malformed'].includes(error.code));
        return;
      }
      assert.deepEqual(encodeLeaf(entry), bytes);
    }),
    { numRuns: 2000 },
  );
});

test('malformed leaves are rejected with stable codes', () => {
  const base = unhex(vectors[0]!.leafHex);
  const mutate = (at: number, value: number): Uint8Array => {
    const copy = base.slice();
    copy[at] = value;
    return copy;
  };
  assert.equal(codeOf(() => decodeLeaf(mutate(0, 0x02))), 'wire_version');
  assert.equal(codeOf(() => decodeLeaf(mutate(0, 0x00))), 'wire_version');
  // txId length 0, then an over-long length.
  assert.equal(codeOf(() => decodeLeaf(Uint8Array.of(1, 0, 0, 0, 0))), 'wire_malformed');
  assert.equal(codeOf(() => decodeLeaf(Uint8Array.of(1, 0, 1, 0, 0))), 'wire_malformed');
  // Invalid UTF-8 in the transaction id (a lone continuation byte).
  assert.equal(codeOf(() => decodeLeaf(mutate(5, 0x80))), 'wire_malformed');
  // Version 0 and version 2^53.
  const versionAt = base.length - 64 - 8;
  const zero = base.slice();
  zero.fill(0, versionAt, versionAt + 8);
  assert.equal(codeOf(() => decodeLeaf(zero)), 'wire_malformed');
  const huge = base.slice();
  huge.set([0, 0x20, 0, 0, 0, 0, 0, 0], versionAt);
  assert.equal(codeOf(() => decodeLeaf(huge)), 'wire_malformed');
  // The largest safe version is accepted.
  const max = base.slice();
  max.set([0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], versionAt);
  assert.equal(decodeLeaf(max).version, Number.MAX_SAFE_INTEGER);
});

test('encoding rejects what could not round-trip', () => {
  const entry = { txId: 't', key: 'k', version: 1, valueHash: new Uint8Array(32), metaHash: new Uint8Array(32) };
  assert.equal(codeOf(() => encodeLeaf({ ...entry, key: '' })), 'invalid_key');
  assert.equal(codeOf(() => encodeLeaf({ ...entry, txId: '' })), 'invalid_id');
  assert.equal(codeOf(() => encodeLeaf({ ...entry, key: 'a\ud800b' })), 'invalid_key');
  assert.equal(codeOf(() => encodeLeaf({ ...entry, txId: '\udc00' })), 'invalid_id');
  assert.equal(codeOf(() => encodeLeaf({ ...entry, version: 0 })), 'wire_malformed');
  assert.equal(codeOf(() => encodeLeaf({ ...entry, version: 1.5 })), 'wire_malformed');
  assert.equal(codeOf(() => encodeLeaf({ ...entry, version: 2 ** 53 })), 'wire_malformed');
  assert.equal(codeOf(() => encodeLeaf({ ...entry, valueHash: new Uint8Array(31) })), 'wire_malformed');
  assert.equal(codeOf(() => encodeLeaf({ ...entry, metaHash: new Uint8Array(33) })), 'wire_malformed');
  assert.equal(encodeLeaf({ ...entry, key: '😀' }).length, LEAF_FIXED_BYTES + 1 + 4);
});
