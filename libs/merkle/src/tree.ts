/* eslint no-bitwise: "error" */
import { assertSafeCount, countTrailingOnes, largestPowerOfTwoBelow } from './bits.js';
import { MerkleError, MerkleErrorCode } from './errors.js';
import { emptyRoot } from './hashing.js';
import { assertHash, nobleHasher, type Hasher } from './hasher.js';
import { assertConsistencySizes } from './plan.js';

// Reference builders over an in-memory list of leaf hashes, following RFC 9162 2.1 (MTH, PATH,
// SUBPROOF) with the recursion unrolled into loops. They cost O(size) hashes per call: for tests,
// small trees and cross-checking the storage-backed builders (plans), not for serving proofs.

/** MTH(D[begin:end]): perfect subtrees merged on a stack, then folded from the right. */
function rangeHash(leafHashes: readonly Uint8Array[], begin: number, end: number, hasher: Hasher): Uint8Array {
  if (begin === end) return emptyRoot(hasher);
  const stack: Uint8Array[] = [];
  for (let i = begin; i < end; i += 1) {
    let hash = leafHashes[i] as Uint8Array;
    assertHash(hash, `leaf hash ${i}`);
    // A leaf completes one perfect subtree per trailing one bit of the count before it.
    for (let merges = countTrailingOnes(i - begin); merges > 0; merges -= 1) {
      hash = hasher.node(stack.pop() as Uint8Array, hash);
    }
    stack.push(hash);
  }
  let root = stack.pop() as Uint8Array;
  while (stack.length > 0) root = hasher.node(stack.pop() as Uint8Array, root);
  return root;
}

function assertSizeWithin(leafHashes: readonly Uint8Array[], size: number): void {
  assertSafeCount(size, 'tree size');
  if (size > leafHashes.length) {
    throw new MerkleError(MerkleErrorCode.SizeOutOfRange, `tree size ${size} exceeds the ${leafHashes.length} leaf hashes given`);
  }
}

/** Root of the tree whose leaves have these hashes (the empty tree for none). */
export function rootHash(leafHashes: readonly Uint8Array[], hasher: Hasher = nobleHasher): Uint8Array {
  return rangeHash(leafHashes, 0, leafHashes.length, hasher);
}

/** Inclusion proof (RFC 9162 PATH) of leaf `index` in the tree of the first `size` leaves. */
export function inclusionProof(
  leafHashes: readonly Uint8Array[],
  index: number,
  size: number,
  hasher: Hasher = nobleHasher,
): Uint8Array[] {
  assertSizeWithin(leafHashes, size);
  assertSafeCount(index, 'leaf index');
  if (index >= size) {
    throw new MerkleError(MerkleErrorCode.IndexOutOfRange, `leaf index ${index} is not below tree size ${size}`);
  }
  const topDown: Uint8Array[] = [];
  let begin = 0;
  let width = size;
  let offset = index;
  while (width > 1) {
    const split = largestPowerOfTwoBelow(width);
    if (offset < split) {
      topDown.push(rangeHash(leafHashes, begin + split, begin + width, hasher));
      width = split;
    } else {
      topDown.push(rangeHash(leafHashes, begin, begin + split, hasher));
      begin += split;
      offset -= split;
      width -= split;
    }
  }
  return topDown.reverse();
}

/** Consistency proof (RFC 9162 SUBPROOF) from the tree of size1 leaves to that of size2. */
export function consistencyProof(
  leafHashes: readonly Uint8Array[],
  size1: number,
  size2: number,
  hasher: Hasher = nobleHasher,
): Uint8Array[] {
  assertConsistencySizes(size1, size2);
  assertSizeWithin(leafHashes, size2);
  if (size1 === size2) return [];
  const topDown: Uint8Array[] = [];
  let begin = 0;
  let width = size2;
  let old = size1;
  let oldIsWholeSubtree = true; // RFC 9162 `b`: the old tree's root is this subtree; omit it.
  while (old !== width) {
    const split = largestPowerOfTwoBelow(width);
    if (old <= split) {
      topDown.push(rangeHash(leafHashes, begin + split, begin + width, hasher));
      width = split;
    } else {
      topDown.push(rangeHash(leafHashes, begin, begin + split, hasher));
      begin += split;
      old -= split;
      width -= split;
      oldIsWholeSubtree = false;
    }
  }
  const proof = oldIsWholeSubtree ? [] : [rangeHash(leafHashes, begin, begin + width, hasher)];
  return proof.concat(topDown.reverse());
}
