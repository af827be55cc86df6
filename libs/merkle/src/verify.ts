/* eslint no-bitwise: "error" */
import { assertSafeCount, countOnes, countTrailingZeros, divergenceHeight, isOdd, shiftDown } from './bits.js';
import { MerkleError, MerkleErrorCode } from './errors.js';
import { assertHash, nobleHasher, type Hasher, HASH_BYTES } from './hasher.js';
import { assertConsistencySizes } from './plan.js';

// Verifiers following RFC 9162 2.1.3.2 and 2.1.4.2, restated on the shape of the path: up to the
// height where a leaf's path meets the path of the tree's last leaf (`inner`), siblings sit on
// either side; above it, only left siblings exist, one per set bit of the remaining index.

function assertProof(proof: readonly Uint8Array[]): void {
  proof.forEach((hash, i) => assertHash(hash, `proof element ${i}`));
}

function assertLength(proof: readonly Uint8Array[], expected: number, what: string): void {
  if (proof.length !== expected) {
    throw new MerkleError(MerkleErrorCode.ProofLength, `${what} has ${proof.length} elements, expected ${expected}`);
  }
}

function assertSameRoot(computed: Uint8Array, expected: Uint8Array, what: string): void {
  let same = computed.length === expected.length;
  for (let i = 0; same && i < HASH_BYTES; i += 1) same = computed[i] === expected[i];
  if (!same) throw new MerkleError(MerkleErrorCode.RootMismatch, `${what} does not match`);
}

/** The root that an inclusion proof yields for this leaf; throws if the proof is malformed. */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  hasher: Hasher = nobleHasher,
): Uint8Array {
  assertSafeCount(index, 'leaf index');
  assertSafeCount(size, 'tree size');
  assertHash(leafHash, 'leaf hash');
  assertProof(proof);
  if (index >= size) {
    throw new MerkleError(MerkleErrorCode.IndexOutOfRange, `leaf index ${index} is not below tree size ${size}`);
  }
  const inner = divergenceHeight(index, size - 1);
  const border = countOnes(shiftDown(index, inner));
  assertLength(proof, inner + border, 'inclusion proof');
  let hash = leafHash;
  let position = index;
  for (let i = 0; i < inner; i += 1) {
    const sibling = proof[i] as Uint8Array;
    hash = isOdd(position) ? hasher.node(sibling, hash) : hasher.node(hash, sibling);
    position = Math.floor(position / 2);
  }
  for (let i = inner; i < proof.length; i += 1) hash = hasher.node(proof[i] as Uint8Array, hash);
  return hash;
}

/** Returns if `proof` shows the leaf at `index` is in the tree of `size` with `root`; throws MerkleError otherwise. */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
  hasher: Hasher = nobleHasher,
): void {
  assertHash(root, 'root');
  assertSameRoot(rootFromInclusionProof(leafHash, index, size, proof, hasher), root, 'root computed from the inclusion proof');
}

/**
 * Checks `proof` against the old root and returns the new root it yields. Size1 must not be 0:
 * every tree extends the empty one, so such a proof would prove nothing.
 */
export function rootFromConsistencyProof(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  hasher: Hasher = nobleHasher,
): Uint8Array {
  assertConsistencySizes(size1, size2);
  assertHash(root1, 'root1');
  assertProof(proof);
  if (size1 === size2) {
    assertLength(proof, 0, 'consistency proof between equal sizes');
    return root1;
  }
  // Work from the largest perfect subtree ending at size1 (`shift` levels up): its path to the
  // new root passes through the old root's right border.
  const shift = countTrailingZeros(size1);
  const start = shiftDown(size1, shift) - 1;
  const last = shiftDown(size2 - 1, shift);
  const inner = divergenceHeight(start, last);
  const border = countOnes(shiftDown(start, inner));
  // When size1 is a power of two that subtree is the old root itself, so the proof omits it.
  const seeded = start === 0;
  assertLength(proof, (seeded ? 0 : 1) + inner + border, 'consistency proof');
  const seed = seeded ? root1 : (proof[0] as Uint8Array);
  let hash1 = seed;
  let hash2 = seed;
  let position = start;
  let next = seeded ? 0 : 1;
  for (let i = 0; i < inner; i += 1, next += 1) {
    const sibling = proof[next] as Uint8Array;
    if (isOdd(position)) {
      hash1 = hasher.node(sibling, hash1);
      hash2 = hasher.node(sibling, hash2);
    } else {
      hash2 = hasher.node(hash2, sibling); // right of the old tree: only in the new one
    }
    position = Math.floor(position / 2);
  }
  for (; next < proof.length; next += 1) {
    const sibling = proof[next] as Uint8Array;
    hash1 = hasher.node(sibling, hash1);
    hash2 = hasher.node(sibling, hash2);
  }
  assertSameRoot(hash1, root1, 'root1 computed from the consistency proof');
  return hash2;
}

/** Returns if `proof` shows the tree (size2, root2) extends (size1, root1); throws MerkleError otherwise. */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
  hasher: Hasher = nobleHasher,
): void {
  assertHash(root2, 'root2');
  assertSameRoot(rootFromConsistencyProof(size1, size2, proof, root1, hasher), root2, 'root2 computed from the consistency proof');
}
