import { sha256 } from '@noble/hashes/sha2.js';
import type { LeafSource } from './rfc6962-naive.js';
import { naiveNodeHash } from './rfc6962-naive.js';

// Trees far too large to hash (2^40 leaves and more), answered by formula.

const LEVELS = 54;

function levelOf(width: number): number {
  let level = 0;
  for (let w = 1; w < width; w *= 2) level += 1;
  return level;
}

/**
 * A real Merkle tree of up to 2^53 - 1 leaves: every leaf is `common` except leaf `special`.
 * A perfect subtree not containing `special` is a uniform tree (one hash per level); one that
 * contains it is on special's path (one hash per level). Parents are true node hashes of their
 * children, so proofs against it verify.
 */
export function sparseTree(special: number, label = 'common'): LeafSource & { node(level: number, index: number): Uint8Array } {
  const common = sha256(new TextEncoder().encode(label));
  const odd = sha256(new TextEncoder().encode(`${label}/special`));
  const uniform: Uint8Array[] = [common];
  const onPath: Uint8Array[] = [odd];
  for (let level = 1; level < LEVELS; level += 1) {
    const below = uniform[level - 1] as Uint8Array;
    const pathBelow = onPath[level - 1] as Uint8Array;
    uniform.push(naiveNodeHash(below, below));
    const specialIsRight = Math.floor(special / 2 ** (level - 1)) % 2 === 1;
    onPath.push(specialIsRight ? naiveNodeHash(below, pathBelow) : naiveNodeHash(pathBelow, below));
  }
  const node = (level: number, index: number): Uint8Array => {
    const begin = index * 2 ** level;
    const contains = special >= begin && special < begin + 2 ** level;
    return (contains ? onPath[level] : uniform[level]) as Uint8Array;
  };
  return {
    leaf: (index) => node(0, index),
    perfect: (begin, width) => node(levelOf(width), begin / width),
    node,
  };
}

/**
 * Not a Merkle tree: every perfect subtree has an unrelated pseudo-random hash of its position.
 * Proofs against it never verify, but any node fetched from the wrong position shows up as
 * different bytes, which makes it the sharpest check of plan node choice at huge sizes.
 */
export function positionalTree(): LeafSource & { node(level: number, index: number): Uint8Array } {
  const node = (level: number, index: number): Uint8Array => sha256(new TextEncoder().encode(`${level}/${index}`));
  return {
    leaf: (index) => node(0, index),
    perfect: (begin, width) => node(levelOf(width), begin / width),
    node,
  };
}
