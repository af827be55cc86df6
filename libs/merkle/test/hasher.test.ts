import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  LEAF_SCRATCH_BYTES_MAX,
  MerkleError,
  MerkleErrorCode,
  createWasmHasher,
  emptyRoot,
  leafHash,
  nobleHasher,
  nodeHash,
  type Hasher,
} from '../src/index.js';
import { naiveLeafHash, naiveNodeHash } from './rfc6962-naive.js';
import { toHex } from './helpers.js';

let wasm: Hasher;
before(async () => {
  wasm = await createWasmHasher();
});

const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
// Lengths on both sides of the reused leaf buffer's bound.
const leafInput = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc.uint8Array({ minLength: LEAF_SCRATCH_BYTES_MAX - 2, maxLength: LEAF_SCRATCH_BYTES_MAX + 2 }),
  fc.uint8Array({ minLength: 5000, maxLength: 9000 }),
);

test('noble and wasm hashers agree with each other and with a naive concatenation', () => {
  fc.assert(
    fc.property(leafInput, hash32, hash32, (data, left, right) => {
      for (const hasher of [nobleHasher, wasm]) {
        assert.equal(toHex(hasher.leaf(data)), toHex(naiveLeafHash(data)), hasher.name);
        assert.equal(toHex(hasher.node(left, right)), toHex(naiveNodeHash(left, right)), hasher.name);
        assert.equal(toHex(hasher.sha256(data)), toHex(nobleHasher.sha256(data)), hasher.name);
      }
    }),
    { numRuns: 300 },
  );
});

test('known answers: the empty tree and the empty leaf', () => {
  for (const hasher of [nobleHasher, wasm]) {
    assert.equal(toHex(emptyRoot(hasher)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(toHex(leafHash(new Uint8Array(0), hasher)), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  }
});

test('results are fresh arrays, never views of a reused buffer', () => {
  for (const hasher of [nobleHasher, wasm]) {
    const a = hasher.node(new Uint8Array(32), new Uint8Array(32).fill(1));
    const copyOfA = toHex(a);
    const b = hasher.node(new Uint8Array(32).fill(2), new Uint8Array(32).fill(3));
    const c = hasher.leaf(new Uint8Array([1, 2, 3]));
    assert.equal(toHex(a), copyOfA, hasher.name);
    assert.notEqual(toHex(b), copyOfA);
    assert.equal(c.length, 32);
  }
});

test('node inputs that are not 32 bytes are rejected, by hashers and by nodeHash', () => {
  const ok = new Uint8Array(32);
  for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33), new Uint8Array(64)]) {
    for (const hasher of [nobleHasher, wasm]) {
      for (const run of [() => hasher.node(bad, ok), () => hasher.node(ok, bad), () => nodeHash(bad, ok, hasher)]) {
        assert.throws(run, (e: unknown) => e instanceof MerkleError && e.code === MerkleErrorCode.BadHashLength);
      }
    }
  }
});
