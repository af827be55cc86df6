/* eslint no-bitwise: "error" */
import { assertSafeCount, countOnes, countTrailingOnes, TREE_SIZE_MAX } from './bits.js';
import { MerkleError, MerkleErrorCode } from './errors.js';
import { assertHash, nobleHasher, type Hasher } from './hasher.js';
import { foldRoot, type NodeId } from './plan.js';

/** Called for each perfect subtree an append completes, the leaf itself (level 0) first. */
export type NodeVisitor = (id: NodeId, hash: Uint8Array) => void;

/**
 * The right border of a growing tree: the roots of its perfect subtrees, one per set bit of the
 * size, left to right (largest first). Enough to append and to compute the root, in O(log size)
 * memory: this is a shard's whole in-memory tree state. Hashes are never mutated in place, so
 * clones can share them.
 */
export class CompactRange {
  readonly #hasher: Hasher;
  #size: number;
  #hashes: Uint8Array[];

  private constructor(size: number, hashes: Uint8Array[], hasher: Hasher) {
    this.#size = size;
    this.#hashes = hashes;
    this.#hasher = hasher;
  }

  static empty(hasher: Hasher = nobleHasher): CompactRange {
    return new CompactRange(0, [], hasher);
  }

  /** Rebuilds the state persisted at `size` (hashes as from rootPlan(size)), validating its shape. */
  static fromState(size: number, hashes: readonly Uint8Array[], hasher: Hasher = nobleHasher): CompactRange {
    assertSafeCount(size, 'compact range size');
    const expected = countOnes(size);
    if (hashes.length !== expected) {
      throw new MerkleError(MerkleErrorCode.BadState, `size ${size} needs ${expected} subtree hashes, got ${hashes.length}`);
    }
    hashes.forEach((hash, i) => assertHash(hash, `subtree hash ${i}`));
    // Copies: the caller's buffers (often views into a read batch) may be reused after this.
    return new CompactRange(size, hashes.map((hash) => hash.slice()), hasher);
  }

  get size(): number {
    return this.#size;
  }

  /** Copies of the subtree roots, left to right (at most 53 x 32 bytes). */
  get hashes(): Uint8Array[] {
    return this.#hashes.map((hash) => hash.slice());
  }

  /**
   * Appends one leaf hash. Each trailing one bit of the old size is a perfect subtree that the new
   * leaf's subtree now completes a sibling pair with, so they merge, smallest first.
   */
  append(leafHash: Uint8Array, visit?: NodeVisitor): void {
    assertHash(leafHash, 'leaf hash');
    if (this.#size >= TREE_SIZE_MAX) {
      throw new MerkleError(MerkleErrorCode.TreeFull, `the tree already holds ${TREE_SIZE_MAX} leaves`);
    }
    let hash = leafHash;
    let index = this.#size;
    visit?.({ level: 0, index }, hash);
    const merges = countTrailingOnes(this.#size);
    for (let level = 1; level <= merges; level += 1) {
      hash = this.#hasher.node(this.#hashes.pop() as Uint8Array, hash);
      index = (index - 1) / 2;
      visit?.({ level, index }, hash);
    }
    // A leaf kept as a subtree root is copied: the caller may reuse its buffer.
    this.#hashes.push(merges === 0 ? leafHash.slice() : hash);
    this.#size += 1;
  }

  /** Root of the tree at the current size (the empty-tree root for size 0). */
  root(): Uint8Array {
    return foldRoot(this.#hashes, this.#hasher);
  }

  /** Cheap: copies the array of at most 53 references; hashes are never mutated, so they are shared. */
  clone(): CompactRange {
    return new CompactRange(this.#size, this.#hashes.slice(), this.#hasher);
  }
}
