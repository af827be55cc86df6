import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@cairn/testkit';
import {
  MerkleError,
  MerkleErrorCode,
  consistencyPlan,
  consistencyProof,
  inclusionPlan,
  inclusionProof,
  rehashProof,
  rootFromConsistencyProof,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from '../src/index.js';
import { TreeFixture } from './tree-fixture.js';

const fixture = new TreeFixture(8);
const leaves = fixture.leaves;
const leaf = leaves[2] as Uint8Array;
const root = rootHash(leaves);
const proof = inclusionProof(leaves, 2, 8);
const isCode = (code: MerkleErrorCode) => (e: unknown) => e instanceof MerkleError && e.code === code;

test('every code is a stable MERKLE_ string, unique, and documented in docs/design/merkle.md', () => {
  const codes = Object.values(MerkleErrorCode);
  assert.equal(new Set(codes).size, codes.length);
  const doc = readFileSync(join(repoRoot(), 'docs', 'design', 'merkle.md'), 'utf8');
  for (const code of codes) {
    assert.match(code, /^MERKLE_[A-Z_]+$/);
    assert.ok(doc.includes(`\`${code}\``), `${code} missing from the design doc's table`);
  }
  const error = new MerkleError(MerkleErrorCode.RootMismatch, 'x', { cause: 'why' });
  assert.equal(error.cause, 'why');
  assert.equal(error.name, 'MerkleError');
  assert.ok(error instanceof Error);
});

test('indexes and sizes must be safe non-negative integers', () => {
  for (const bad of [-1, 0.5, Number.NaN, Infinity, 2 ** 53, Number.MAX_SAFE_INTEGER + 2]) {
    assert.throws(() => verifyInclusion(leaf, bad, 8, proof, root), isCode(MerkleErrorCode.BadInteger));
    assert.throws(() => verifyInclusion(leaf, 2, bad, proof, root), isCode(MerkleErrorCode.BadInteger));
    assert.throws(() => verifyConsistency(bad, 8, [], root, root), isCode(MerkleErrorCode.BadInteger));
    assert.throws(() => verifyConsistency(1, bad, [], root, root), isCode(MerkleErrorCode.BadInteger));
    assert.throws(() => inclusionPlan(bad, 8), isCode(MerkleErrorCode.BadInteger));
    assert.throws(() => consistencyPlan(1, bad), isCode(MerkleErrorCode.BadInteger));
  }
});

test('hashes that are not 32 bytes are rejected wherever they enter', () => {
  const short = new Uint8Array(31);
  const long = new Uint8Array(33);
  for (const bad of [short, long, new Uint8Array(0)]) {
    assert.throws(() => verifyInclusion(bad, 2, 8, proof, root), isCode(MerkleErrorCode.BadHashLength));
    assert.throws(() => verifyInclusion(leaf, 2, 8, proof, bad), isCode(MerkleErrorCode.BadHashLength));
    assert.throws(() => verifyInclusion(leaf, 2, 8, [bad, ...proof.slice(1)], root), isCode(MerkleErrorCode.BadHashLength));
    assert.throws(() => verifyConsistency(4, 4, [], bad, bad), isCode(MerkleErrorCode.BadHashLength));
    assert.throws(() => verifyConsistency(4, 8, [bad], root, root), isCode(MerkleErrorCode.BadHashLength));
    assert.throws(() => rootHash([leaf, bad]), isCode(MerkleErrorCode.BadHashLength));
    assert.throws(() => rootHash([bad]), isCode(MerkleErrorCode.BadHashLength));
  }
});

test('range, order and emptiness errors carry their own codes', () => {
  assert.throws(() => verifyInclusion(leaf, 8, 8, proof, root), isCode(MerkleErrorCode.IndexOutOfRange));
  assert.throws(() => verifyInclusion(leaf, 0, 0, [], root), isCode(MerkleErrorCode.IndexOutOfRange));
  assert.throws(() => inclusionProof(leaves, 0, 9), isCode(MerkleErrorCode.SizeOutOfRange));
  assert.throws(() => consistencyProof(leaves, 1, 9), isCode(MerkleErrorCode.SizeOutOfRange));
  assert.throws(() => verifyConsistency(5, 4, [], root, root), isCode(MerkleErrorCode.SizeOrder));
  assert.throws(() => consistencyPlan(5, 4), isCode(MerkleErrorCode.SizeOrder));
  for (const size2 of [0, 1, 8]) {
    assert.throws(() => verifyConsistency(0, size2, [], root, root), isCode(MerkleErrorCode.ConsistencyFromZero));
    assert.throws(() => consistencyProof(leaves, 0, size2), isCode(MerkleErrorCode.ConsistencyFromZero));
    assert.throws(() => consistencyPlan(0, size2), isCode(MerkleErrorCode.ConsistencyFromZero));
  }
});

test('proof length and root mismatches', () => {
  assert.throws(() => verifyInclusion(leaf, 2, 8, proof.slice(1), root), isCode(MerkleErrorCode.ProofLength));
  assert.throws(() => verifyInclusion(leaf, 2, 8, [...proof, leaf], root), isCode(MerkleErrorCode.ProofLength));
  assert.throws(() => verifyInclusion(leaf, 3, 8, proof, root), isCode(MerkleErrorCode.RootMismatch));
  assert.throws(() => verifyConsistency(8, 8, [root], root, root), isCode(MerkleErrorCode.ProofLength));
  assert.throws(() => verifyConsistency(8, 8, [], root, leaf), isCode(MerkleErrorCode.RootMismatch));
  const consistency = consistencyProof(leaves, 3, 8);
  assert.throws(() => rootFromConsistencyProof(3, 8, consistency, root), isCode(MerkleErrorCode.RootMismatch));
  assert.equal(
    Buffer.from(rootFromConsistencyProof(3, 8, consistency, rootHash(leaves.slice(0, 3)))).toString('hex'),
    Buffer.from(root).toString('hex'),
  );
});

test('rehashProof rejects hashes that do not match the plan', () => {
  const plan = inclusionPlan(2, 7);
  const hashes = plan.nodes.map((id) => fixture.node(id));
  assert.throws(() => rehashProof(plan, hashes.slice(1)), isCode(MerkleErrorCode.PlanMismatch));
  assert.throws(() => rehashProof({ ...plan, ephemeralEnd: plan.nodes.length + 1 }, hashes), isCode(MerkleErrorCode.PlanMismatch));
  assert.throws(() => rehashProof(plan, [new Uint8Array(3), ...hashes.slice(1)]), isCode(MerkleErrorCode.BadHashLength));
  assert.deepEqual(rehashProof(plan, hashes), inclusionProof(leaves, 2, 7));
});
