/* eslint no-bitwise: "error" */
import {
  assertSafeCount,
  bitLength,
  countTrailingZeros,
  divergenceHeight,
  isOdd,
  pow2,
  shiftDown,
} from './bits.js';
import { MerkleError, MerkleErrorCode } from './errors.js';
import { emptyRoot } from './hashing.js';
import { assertHash, nobleHasher, type Hasher } from './hasher.js';

/**
 * A perfect subtree: the node at `level` (0 = leaf) and `index` covers the leaves
 * [index * 2^level, (index + 1) * 2^level). Only perfect subtrees are ever stored; the
 * right-border nodes of a tree that is not a power of two are recomputed when needed.
 */
export type NodeId = { level: number; index: number };

/**
 * What a store must fetch to build a proof: `nodes` are perfect subtrees fully inside the tree at
 * the proof's size. The hashes of nodes[ephemeralBegin, ephemeralEnd) (lowest level first) fold
 * into one proof element, the ephemeral right-border node; every other node is a proof element
 * as is. rehashProof turns the fetched hashes into the proof.
 */
export interface ProofPlan {
  readonly nodes: readonly NodeId[];
  readonly ephemeralBegin: number;
  readonly ephemeralEnd: number;
}

/** The leaf range [begin, end) a node covers. */
export function nodeCoverage(id: NodeId): { begin: number; end: number } {
  assertSafeCount(id.level, 'node level');
  assertSafeCount(id.index, 'node index');
  const width = pow2(id.level);
  const end = (id.index + 1) * width;
  if (!Number.isSafeInteger(end)) {
    throw new MerkleError(MerkleErrorCode.IndexOutOfRange, `node (${id.level}, ${id.index}) ends past 2^53-1`);
  }
  return { begin: id.index * width, end };
}

/**
 * The fewest perfect subtrees covering [begin, end), left to right. For begin = 0 (or any begin
 * aligned above the range's size) their sizes strictly decrease: the binary digits of the size.
 */
export function rangeNodes(begin: number, end: number): NodeId[] {
  assertSafeCount(begin, 'range begin');
  assertSafeCount(end, 'range end');
  if (begin > end) throw new MerkleError(MerkleErrorCode.SizeOrder, `range begin ${begin} > end ${end}`);
  const nodes: NodeId[] = [];
  let position = begin;
  while (position < end) {
    const level = Math.min(countTrailingZeros(position), bitLength(end - position) - 1);
    nodes.push({ level, index: shiftDown(position, level) });
    position += pow2(level);
  }
  return nodes;
}

/** The perfect subtrees whose fold (foldRoot) is the root of the tree at `size`, left to right. */
export function rootPlan(size: number): NodeId[] {
  return rangeNodes(0, size);
}

/**
 * Root from the hashes of rootPlan(size), left to right: node(h0, node(h1, ... node(hn-2, hn-1))).
 * No hashes is the empty tree.
 */
export function foldRoot(hashes: readonly Uint8Array[], hasher: Hasher = nobleHasher): Uint8Array {
  const last = hashes[hashes.length - 1];
  if (last === undefined) return emptyRoot(hasher);
  assertHash(last, 'subtree hash');
  let root = last;
  for (let i = hashes.length - 2; i >= 0; i -= 1) root = hasher.node(hashes[i] as Uint8Array, root);
  return root;
}

/**
 * Nodes proving that the perfect node (level, index) is in the tree at `size`, bottom-up,
 * without the node itself. Below the fork (where the node's path leaves the tree's right border)
 * every sibling is perfect; the fork's right sibling is the ephemeral node; above the fork every
 * sibling is a perfect subtree on the left.
 */
function pathPlan(level: number, index: number, size: number): ProofPlan {
  const border = shiftDown(size, level);
  const inner = divergenceHeight(index, border) - 1;
  const forkLevel = level + inner;
  const forkBegin = shiftDown(index, inner) * pow2(forkLevel);
  const forkEnd = forkBegin + pow2(forkLevel);
  const nodes: NodeId[] = [];
  let position = index;
  for (let at = level; at < forkLevel; at += 1) {
    nodes.push({ level: at, index: isOdd(position) ? position - 1 : position + 1 });
    position = Math.floor(position / 2);
  }
  const ephemeralBegin = nodes.length;
  nodes.push(...rangeNodes(forkEnd, size).reverse());
  const ephemeralEnd = nodes.length;
  nodes.push(...rangeNodes(0, forkBegin).reverse());
  return { nodes, ephemeralBegin, ephemeralEnd };
}

/** What to fetch for the inclusion proof of leaf `index` in the tree at `size`. */
export function inclusionPlan(index: number, size: number): ProofPlan {
  assertSafeCount(index, 'leaf index');
  assertSafeCount(size, 'tree size');
  if (index >= size) {
    throw new MerkleError(MerkleErrorCode.IndexOutOfRange, `leaf index ${index} is not below tree size ${size}`);
  }
  return pathPlan(0, index, size);
}

/**
 * What to fetch for the consistency proof from size1 to size2. The proof is the inclusion path,
 * in the tree at size2, of the largest perfect subtree ending at size1, preceded by that subtree
 * unless size1 is a power of two (then it is the old root, which the verifier already has).
 */
export function consistencyPlan(size1: number, size2: number): ProofPlan {
  assertConsistencySizes(size1, size2);
  if (size1 === size2) return { nodes: [], ephemeralBegin: 0, ephemeralEnd: 0 };
  const level = countTrailingZeros(size1);
  const index = shiftDown(size1, level) - 1;
  const path = pathPlan(level, index, size2);
  if (index === 0) return path;
  return {
    nodes: [{ level, index }, ...path.nodes],
    ephemeralBegin: path.ephemeralBegin + 1,
    ephemeralEnd: path.ephemeralEnd + 1,
  };
}

export function assertConsistencySizes(size1: number, size2: number): void {
  assertSafeCount(size1, 'size1');
  assertSafeCount(size2, 'size2');
  if (size1 === 0) {
    throw new MerkleError(MerkleErrorCode.ConsistencyFromZero, 'a consistency proof from the empty tree proves nothing');
  }
  if (size1 > size2) throw new MerkleError(MerkleErrorCode.SizeOrder, `size1 ${size1} > size2 ${size2}`);
}

/** The proof from the hashes of plan.nodes (same order): folds the ephemeral node. */
export function rehashProof(
  plan: ProofPlan,
  hashes: readonly Uint8Array[],
  hasher: Hasher = nobleHasher,
): Uint8Array[] {
  const { nodes, ephemeralBegin: begin, ephemeralEnd: end } = plan;
  if (hashes.length !== nodes.length) {
    throw new MerkleError(MerkleErrorCode.PlanMismatch, `plan has ${nodes.length} nodes, got ${hashes.length} hashes`);
  }
  if (!(Number.isSafeInteger(begin) && Number.isSafeInteger(end) && begin >= 0 && begin <= end && end <= nodes.length)) {
    throw new MerkleError(MerkleErrorCode.PlanMismatch, `bad ephemeral range [${begin}, ${end}) of ${nodes.length}`);
  }
  hashes.forEach((hash, i) => assertHash(hash, `plan hash ${i}`));
  const proof: Uint8Array[] = hashes.slice(0, begin);
  if (end > begin) {
    let ephemeral = hashes[begin] as Uint8Array;
    for (let i = begin + 1; i < end; i += 1) ephemeral = hasher.node(hashes[i] as Uint8Array, ephemeral);
    proof.push(ephemeral);
  }
  for (let i = end; i < hashes.length; i += 1) proof.push(hashes[i] as Uint8Array);
  return proof;
}
