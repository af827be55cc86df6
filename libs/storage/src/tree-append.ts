import { CompactRange, type Hasher } from '@cairn/merkle';
import { nativeHash, type NativeHash } from './native-hash.js';
import type { TileWriter } from './tiles.js';

// Appends a batch of leaf hashes to the tree a level at a time instead of a leaf at a time: each
// level's new nodes are one contiguous run, so they are hashed by one call (the native addon when
// built) and copied into their tiles as runs. CompactRange.append, leaf by leaf, is the reference
// this is tested against (test/tree-append.test.ts); both give the same nodes and the same range.
//
// New nodes of level l are the indexes [floor(s / 2^l), floor((s + n) / 2^l)) for a tree growing
// from s to s + n leaves. Their parents pair them up; when the first index is odd its left
// sibling is the old tree's subtree root of level l, which the compact range holds.

/** Hashes `pairs` sibling pairs at bytes[inAt + 64 i] into bytes[outAt + 32 i]; outAt <= inAt + 32. */
export type PairHasher = (bytes: Uint8Array, inAt: number, pairs: number, outAt: number) => void;

const HASH = 32;

/** The addon's pair hashing (`native`, the loaded addon by default), or one hasher.node() call per pair. */
export function pairHasher(hasher: Hasher, native: NativeHash | undefined = nativeHash): PairHasher {
  if (native !== undefined) return (bytes, inAt, pairs, outAt) => void native.hashPairs(bytes, inAt, pairs, outAt);
  return (bytes, inAt, pairs, outAt) => {
    for (let i = 0; i < pairs; i += 1) {
      const at = inAt + 64 * i;
      // Read before writing: output i may overlap the pair it comes from.
      const parent = hasher.node(bytes.subarray(at, at + HASH), bytes.subarray(at + HASH, at + 2 * HASH));
      bytes.set(parent, outAt + HASH * i);
    }
  };
}

/** A scratch buffer reused across batches (appends are serialized): one level of the batch at a time. */
export class TreeScratch {
  #bytes = new Uint8Array(HASH * 1024);

  take(hashes: number): Uint8Array {
    if (this.#bytes.length < HASH * (hashes + 1)) this.#bytes = new Uint8Array(HASH * 2 * (hashes + 1));
    return this.#bytes;
  }
}

/**
 * The range after appending the `count` leaf hashes in `leaves` (32 bytes each) to `range`; every
 * new node goes to `tiles`. `range` is not changed.
 */
export function appendLeafRun(
  range: CompactRange,
  leaves: Uint8Array,
  count: number,
  tiles: TileWriter,
  hashPairs: PairHasher,
  hasher: Hasher,
  scratch: TreeScratch,
): CompactRange {
  if (leaves.length < HASH * count) throw new RangeError(`${count} leaf hashes need ${HASH * count} bytes, got ${leaves.length}`);
  if (count === 0) return range.clone();
  const before = range.size;
  const after = before + count;
  const old = oldNodesByLevel(before, range.hashes);
  // Level l's run sits at work[32, 32 + 32 c); work[0, 32) takes the old left sibling when needed.
  const work = scratch.take(count);
  work.set(leaves.subarray(0, HASH * count), HASH);
  const border: Uint8Array[] = [];
  let first = before;
  let runCount = count;
  for (let level = 0; 2 ** level <= after; level += 1) {
    if (runCount > 0) tiles.putRun(level, first, work.subarray(HASH, HASH + HASH * runCount));
    const borderNode = borderAt(after, level, first, runCount, work, old[level]);
    if (borderNode !== undefined) border.push(borderNode);
    const parentFirst = Math.floor(first / 2);
    const parents = Math.floor((first + runCount) / 2) - parentFirst;
    if (parents > 0) {
      const oddStart = first % 2 === 1;
      if (oddStart) work.set(old[level] ?? missingOld(level), 0);
      hashPairs(work, oddStart ? 0 : HASH, parents, HASH);
    }
    first = parentFirst;
    runCount = parents;
  }
  // Levels were visited from the bottom; the range lists its subtrees largest first.
  border.reverse();
  const next = CompactRange.fromState(after, border, hasher);
  if (next.size !== after) throw new Error(`tree append ended at ${next.size}, not ${after}`);
  return next;
}

/** The old tree's subtree roots by level: bit l of the size set means one of height l. */
function oldNodesByLevel(size: number, hashes: readonly Uint8Array[]): (Uint8Array | undefined)[] {
  const byLevel: (Uint8Array | undefined)[] = [];
  let at = hashes.length - 1;
  for (let level = 0, rest = size; rest > 0; level += 1, rest = Math.floor(rest / 2)) {
    if (rest % 2 === 1) {
      byLevel[level] = hashes[at];
      at -= 1;
    }
  }
  if (at !== -1) throw new Error(`compact range of size ${size} holds ${hashes.length} hashes`);
  return byLevel;
}

/**
 * The new tree's subtree root at `level`, if bit `level` of its size is set: the last node of the
 * level, from this batch's run or else the old tree's (then it is the old root of that level).
 */
function borderAt(size: number, level: number, first: number, runCount: number, work: Uint8Array, old: Uint8Array | undefined): Uint8Array | undefined {
  const nodes = Math.floor(size / 2 ** level);
  if (nodes % 2 === 0) return undefined;
  const index = nodes - 1;
  if (index >= first) {
    const at = HASH + HASH * (index - first);
    if (index - first >= runCount) throw new Error(`border node ${level}/${index} outside the run`);
    return work.slice(at, at + HASH);
  }
  return old ?? missingOld(level);
}

function missingOld(level: number): never {
  throw new Error(`the old tree has no subtree root of level ${level}`);
}
