import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MerkleError,
  consistencyPlan,
  consistencyProof,
  createWasmHasher,
  inclusionPlan,
  inclusionProof,
  nobleHasher,
  nodeCoverage,
  rehashProof,
  rootHash,
  verifyConsistency,
  verifyInclusion,
  type Hasher,
  type ProofPlan,
} from '../src/index.js';
import { listSource, mth, path, proof as naiveConsistency } from './rfc6962-naive.js';
import { TreeFixture } from './tree-fixture.js';
import { toHex } from './helpers.js';

/** Largest random tree; every property below stays well under a second per hundred runs. */
const TREE_LEAVES_MAX = 3000;
/** Trees up to this size are checked exhaustively: every index, every pair of sizes. */
const EXHAUSTIVE_LEAVES_MAX = 64;
const RUNS = 150;

const fixture = new TreeFixture(TREE_LEAVES_MAX);
const source = listSource(fixture.leaves);
const roots: Uint8Array[] = [];
let hashers: Hasher[] = [nobleHasher];

before(async () => {
  hashers = [nobleHasher, await createWasmHasher()];
});

function root(size: number): Uint8Array {
  let known = roots[size];
  if (known === undefined) {
    known = rootHash(fixture.leaves.slice(0, size));
    roots[size] = known;
  }
  return known;
}

function fromPlan(plan: ProofPlan, hasher: Hasher = nobleHasher): Uint8Array[] {
  return rehashProof(plan, plan.nodes.map((id) => fixture.node(id)), hasher);
}

function assertPlanInside(plan: ProofPlan, size: number): void {
  for (const id of plan.nodes) assert.ok(nodeCoverage(id).end <= size, `node ${id.level}/${id.index} outside size ${size}`);
}

const sizeAndIndex = fc
  .integer({ min: 1, max: TREE_LEAVES_MAX })
  .chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 })));
const sizePair = fc
  .integer({ min: 1, max: TREE_LEAVES_MAX })
  .chain((size2) => fc.tuple(fc.integer({ min: 1, max: size2 }), fc.constant(size2)));

describe('inclusion proofs', () => {
  test('builder = naive RFC 6962 PATH = storage plan, and they verify with every hasher', () => {
    fc.assert(
      fc.property(sizeAndIndex, ([size, index]) => {
        const built = inclusionProof(fixture.leaves, index, size);
        assert.deepEqual(built.map(toHex), path(source, index, 0, size).map(toHex));
        const plan = inclusionPlan(index, size);
        assertPlanInside(plan, size);
        assert.equal(toHex(root(size)), toHex(mth(source, 0, size)));
        for (const hasher of hashers) {
          assert.deepEqual(fromPlan(plan, hasher).map(toHex), built.map(toHex));
          verifyInclusion(fixture.leaves[index] as Uint8Array, index, size, built, root(size), hasher);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test(`every index of every tree up to ${EXHAUSTIVE_LEAVES_MAX} leaves`, () => {
    for (let size = 1; size <= EXHAUSTIVE_LEAVES_MAX; size += 1) {
      for (let index = 0; index < size; index += 1) {
        const built = inclusionProof(fixture.leaves, index, size);
        const plan = inclusionPlan(index, size);
        assertPlanInside(plan, size);
        assert.deepEqual(fromPlan(plan).map(toHex), built.map(toHex), `plan ${index}/${size}`);
        for (const hasher of hashers) verifyInclusion(fixture.leaves[index] as Uint8Array, index, size, built, root(size), hasher);
      }
    }
  });

  test('any flipped bit, truncation, extension or reordering is rejected', () => {
    fc.assert(
      fc.property(sizeAndIndex, mutation(), ([size, index], mutate) => {
        const built = inclusionProof(fixture.leaves, index, size);
        const bad = mutate(built);
        fc.pre(bad !== undefined);
        for (const hasher of hashers) {
          assert.throws(
            () => verifyInclusion(fixture.leaves[index] as Uint8Array, index, size, bad as Uint8Array[], root(size), hasher),
            MerkleError,
          );
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('consistency proofs', () => {
  test('builder = naive RFC 6962 PROOF = storage plan, and they verify with every hasher', () => {
    fc.assert(
      fc.property(sizePair, ([size1, size2]) => {
        const built = consistencyProof(fixture.leaves, size1, size2);
        const naive = size1 === size2 ? [] : naiveConsistency(source, size1, size2);
        assert.deepEqual(built.map(toHex), naive.map(toHex));
        const plan = consistencyPlan(size1, size2);
        assertPlanInside(plan, size2);
        for (const hasher of hashers) {
          assert.deepEqual(fromPlan(plan, hasher).map(toHex), built.map(toHex));
          verifyConsistency(size1, size2, built, root(size1), root(size2), hasher);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test(`every pair of sizes up to ${EXHAUSTIVE_LEAVES_MAX} leaves`, () => {
    for (let size2 = 1; size2 <= EXHAUSTIVE_LEAVES_MAX; size2 += 1) {
      for (let size1 = 1; size1 <= size2; size1 += 1) {
        const built = consistencyProof(fixture.leaves, size1, size2);
        const plan = consistencyPlan(size1, size2);
        assertPlanInside(plan, size2);
        assert.deepEqual(fromPlan(plan).map(toHex), built.map(toHex), `plan ${size1}->${size2}`);
        for (const hasher of hashers) verifyConsistency(size1, size2, built, root(size1), root(size2), hasher);
      }
    }
  });

  test('any flipped bit, truncation, extension or reordering is rejected', () => {
    fc.assert(
      fc.property(sizePair, mutation(), ([size1, size2], mutate) => {
        const bad = mutate(consistencyProof(fixture.leaves, size1, size2));
        fc.pre(bad !== undefined);
        for (const hasher of hashers) {
          assert.throws(() => verifyConsistency(size1, size2, bad as Uint8Array[], root(size1), root(size2), hasher), MerkleError);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test('a proof for other sizes, or swapped roots, is rejected', () => {
    fc.assert(
      fc.property(sizePair, fc.integer({ min: 1, max: TREE_LEAVES_MAX }), ([size1, size2], other) => {
        fc.pre(size1 < size2);
        const built = consistencyProof(fixture.leaves, size1, size2);
        assert.throws(() => verifyConsistency(size1, size2, built, root(size2), root(size1)), MerkleError);
        fc.pre(other !== size1 && other <= size2);
        assert.throws(() => verifyConsistency(other, size2, built, root(other), root(size2)), MerkleError);
      }),
      { numRuns: RUNS },
    );
  });
});

type Mutation = (proof: readonly Uint8Array[]) => Uint8Array[] | undefined;

/** One tampering of a proof; undefined when it does not apply (e.g. reordering one element). */
function mutation(): fc.Arbitrary<Mutation> {
  const flip = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 7 })).map(
    ([at, byte, bit]): Mutation =>
      (proof) => {
        if (proof.length === 0) return undefined;
        const copy = proof.map((hash) => hash.slice());
        const target = copy[at % copy.length] as Uint8Array;
        target[byte] = (target[byte] as number) ^ (1 << bit);
        return copy;
      },
  );
  const truncate = fc.nat().map(
    (at): Mutation =>
      (proof) => {
        if (proof.length === 0) return undefined;
        const copy = proof.slice();
        copy.splice(at % copy.length, 1);
        return copy;
      },
  );
  const extend = fc.tuple(fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 })).map(
    ([at, extra]): Mutation =>
      (proof) => {
        const copy = proof.slice();
        copy.splice(at % (copy.length + 1), 0, extra);
        return copy;
      },
  );
  const reorder = fc.tuple(fc.nat(), fc.nat()).map(
    ([a, b]): Mutation =>
      (proof) => {
        const i = a % Math.max(proof.length, 1);
        const j = b % Math.max(proof.length, 1);
        if (i === j || toHex(proof[i] as Uint8Array) === toHex(proof[j] as Uint8Array)) return undefined;
        const copy = proof.slice();
        [copy[i], copy[j]] = [copy[j] as Uint8Array, copy[i] as Uint8Array];
        return copy;
      },
  );
  return fc.oneof(flip, truncate, extend, reorder);
}
