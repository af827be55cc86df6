import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CompactRange,
  MerkleError,
  MerkleErrorCode,
  TREE_SIZE_MAX,
  consistencyPlan,
  foldRoot,
  inclusionPlan,
  nodeCoverage,
  rehashProof,
  rootPlan,
  verifyConsistency,
  verifyInclusion,
  type ProofPlan,
} from '../src/index.js';
import { mth, path, proof as naiveConsistency } from './rfc6962-naive.js';
import { positionalTree, sparseTree } from './synthetic-tree.js';
import { toHex } from './helpers.js';

// Sizes past 2^32, where 32-bit bitwise arithmetic would silently break the math.
const HUGE_SIZES = [2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40, 2 ** 40 + 5, 2 ** 52 + 3, 2 ** 53 - 2, TREE_SIZE_MAX];
const hugeSize = fc.oneof(fc.constantFrom(...HUGE_SIZES), fc.integer({ min: 2 ** 32 + 1, max: TREE_SIZE_MAX }));
const RUNS = 60;

type Tree = ReturnType<typeof sparseTree>;
const fetch = (tree: Tree, plan: ProofPlan): Uint8Array[] => plan.nodes.map((id) => tree.node(id.level, id.index));

function assertPlanShape(plan: ProofPlan, size: number): void {
  assert.ok(plan.nodes.length <= 2 * 53 + 1);
  for (const id of plan.nodes) {
    const { begin, end } = nodeCoverage(id);
    assert.ok(end <= size && Number.isSafeInteger(begin), `node ${id.level}/${id.index} outside ${size}`);
  }
}

describe('trees above 2^32 leaves', () => {
  test('rootPlan decomposes the size into its binary digits, largest first', () => {
    fc.assert(
      fc.property(hugeSize, (size) => {
        const ids = rootPlan(size);
        let covered = 0;
        for (const id of ids) {
          const { begin, end } = nodeCoverage(id);
          assert.equal(begin, covered);
          covered = end;
        }
        assert.equal(covered, size);
        assert.equal(ids.length, [...BigInt(size).toString(2)].filter((c) => c === '1').length);
        const tree = positionalTree();
        assert.equal(toHex(foldRoot(ids.map((id) => tree.node(id.level, id.index)))), toHex(mth(tree, 0, size)));
      }),
      { numRuns: RUNS },
    );
  });

  test('inclusion plans fetch exactly the nodes of the naive RFC 6962 PATH', () => {
    const tree = positionalTree();
    fc.assert(
      fc.property(hugeSize, fc.double({ min: 0, max: 1, noNaN: true }), (size, at) => {
        const index = Math.min(size - 1, Math.floor(at * size));
        const plan = inclusionPlan(index, size);
        assertPlanShape(plan, size);
        assert.deepEqual(rehashProof(plan, fetch(tree, plan)).map(toHex), path(tree, index, 0, size).map(toHex));
      }),
      { numRuns: RUNS },
    );
  });

  test('consistency plans fetch exactly the nodes of the naive RFC 6962 PROOF', () => {
    const tree = positionalTree();
    fc.assert(
      fc.property(hugeSize, fc.double({ min: 0, max: 1, noNaN: true }), (size2, at) => {
        const size1 = Math.max(1, Math.min(size2 - 1, Math.floor(at * size2)));
        const plan = consistencyPlan(size1, size2);
        assertPlanShape(plan, size2);
        assert.deepEqual(rehashProof(plan, fetch(tree, plan)).map(toHex), naiveConsistency(tree, size1, size2).map(toHex));
      }),
      { numRuns: RUNS },
    );
  });

  test('synthetic inclusion proofs verify, and a flipped bit or a neighbour index fails', () => {
    fc.assert(
      fc.property(hugeSize, fc.double({ min: 0, max: 1, noNaN: true }), fc.boolean(), (size, at, proveSpecial) => {
        const special = Math.min(size - 1, Math.floor(at * size));
        const tree = sparseTree(special);
        const index = proveSpecial ? special : (special + 1) % size;
        const plan = inclusionPlan(index, size);
        const proof = rehashProof(plan, fetch(tree, plan));
        const root = foldRoot(rootPlan(size).map((id) => tree.node(id.level, id.index)));
        assert.equal(toHex(root), toHex(mth(tree, 0, size)));
        verifyInclusion(tree.leaf(index), index, size, proof, root);
        if (proof.length > 0) {
          const flipped = proof.map((hash) => hash.slice());
          (flipped[proof.length - 1] as Uint8Array)[7] = ((flipped[proof.length - 1] as Uint8Array)[7] as number) ^ 1;
          assert.throws(() => verifyInclusion(tree.leaf(index), index, size, flipped, root), MerkleError);
        }
        // The neighbour's proof must not prove the distinct leaf, at either position.
        if (!proveSpecial && index !== special) {
          assert.throws(() => verifyInclusion(tree.leaf(special), special, size, proof, root), MerkleError);
          assert.throws(() => verifyInclusion(tree.leaf(special), index, size, proof, root), MerkleError);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('synthetic consistency proofs verify; wrong roots fail', () => {
    fc.assert(
      fc.property(hugeSize, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (size2, at1, atSpecial) => {
        const size1 = Math.max(1, Math.min(size2 - 1, Math.floor(at1 * size2)));
        const tree = sparseTree(Math.min(size2 - 1, Math.floor(atSpecial * size2)));
        const rootAt = (size: number): Uint8Array => foldRoot(rootPlan(size).map((id) => tree.node(id.level, id.index)));
        const plan = consistencyPlan(size1, size2);
        const proof = rehashProof(plan, fetch(tree, plan));
        verifyConsistency(size1, size2, proof, rootAt(size1), rootAt(size2));
        assert.throws(() => verifyConsistency(size1, size2, proof, rootAt(size2), rootAt(size1)), MerkleError);
        assert.throws(() => verifyConsistency(size1, size2, proof.slice(1), rootAt(size1), rootAt(size2)), MerkleError);
      }),
      { numRuns: RUNS },
    );
  });

  test('a compact range restored at a huge size has the right root, and appends complete the right nodes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2 ** 32, max: TREE_SIZE_MAX - 64 }), fc.integer({ min: 1, max: 40 }), (size, appends) => {
        const tree = sparseTree(size + appends - 1); // the last appended leaf is the distinct one
        const state = rootPlan(size).map((id) => tree.node(id.level, id.index));
        const range = CompactRange.fromState(size, state);
        assert.equal(toHex(range.root()), toHex(mth(tree, 0, size)));
        for (let i = 0; i < appends; i += 1) {
          range.append(tree.leaf(size + i), (id, hash) => {
            assert.equal(toHex(hash), toHex(tree.node(id.level, id.index)), `node ${id.level}/${id.index}`);
            assert.equal(nodeCoverage(id).end, size + i + 1);
          });
        }
        assert.equal(range.size, size + appends);
        assert.equal(toHex(range.root()), toHex(mth(tree, 0, size + appends)));
      }),
      { numRuns: RUNS },
    );
  });

  test('the largest tree takes no more leaves', () => {
    const tree = sparseTree(0);
    const range = CompactRange.fromState(TREE_SIZE_MAX, rootPlan(TREE_SIZE_MAX).map((id) => tree.node(id.level, id.index)));
    assert.equal(range.hashes.length, 53);
    assert.throws(() => range.append(tree.leaf(0)), (e: unknown) => e instanceof MerkleError && e.code === MerkleErrorCode.TreeFull);
    assert.throws(() => inclusionPlan(TREE_SIZE_MAX, TREE_SIZE_MAX), (e: unknown) => e instanceof MerkleError && e.code === MerkleErrorCode.IndexOutOfRange);
    assert.throws(() => inclusionPlan(0, TREE_SIZE_MAX + 1), (e: unknown) => e instanceof MerkleError && e.code === MerkleErrorCode.BadInteger);
  });
});
