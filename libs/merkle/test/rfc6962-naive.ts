// A deliberately naive, recursive transcription of RFC 6962 section 2.1 (MTH, PATH, PROOF /
// SUBPROOF), used only to cross-check the iterative production code. It reads leaves through a
// source so that huge synthetic trees (see synthetic-tree.ts) can answer perfect subtrees directly.
import { sha256 } from '@noble/hashes/sha2.js';

export interface LeafSource {
  leaf(index: number): Uint8Array;
  /** Optional shortcut for the perfect, aligned subtree [begin, begin + width). */
  perfect?(begin: number, width: number): Uint8Array | undefined;
}

export function naiveLeafHash(data: Uint8Array): Uint8Array {
  return sha256(new Uint8Array([0, ...data]));
}

export function naiveNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(new Uint8Array([1, ...left, ...right]));
}

/** k: the largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

/** MTH(D[begin:end]) */
export function mth(source: LeafSource, begin: number, end: number): Uint8Array {
  const n = end - begin;
  if (n === 0) return sha256(new Uint8Array(0));
  if (n === 1) return source.leaf(begin);
  if (source.perfect !== undefined && isPowerOfTwo(n) && begin % n === 0) {
    const known = source.perfect(begin, n);
    if (known !== undefined) return known;
  }
  const k = split(n);
  return naiveNodeHash(mth(source, begin, begin + k), mth(source, begin + k, end));
}

/** PATH(m, D[begin:end]) */
export function path(source: LeafSource, m: number, begin: number, end: number): Uint8Array[] {
  const n = end - begin;
  if (n === 1) return [];
  const k = split(n);
  if (m < k) return [...path(source, m, begin, begin + k), mth(source, begin + k, end)];
  return [...path(source, m - k, begin + k, end), mth(source, begin, begin + k)];
}

function subproof(source: LeafSource, m: number, begin: number, end: number, whole: boolean): Uint8Array[] {
  const n = end - begin;
  if (m === n) return whole ? [] : [mth(source, begin, end)];
  const k = split(n);
  if (m <= k) return [...subproof(source, m, begin, begin + k, whole), mth(source, begin + k, end)];
  return [...subproof(source, m - k, begin + k, end, false), mth(source, begin, begin + k)];
}

/** PROOF(m, D[n]) for 0 < m < n. */
export function proof(source: LeafSource, m: number, n: number): Uint8Array[] {
  return subproof(source, m, 0, n, true);
}

export function listSource(leafHashes: readonly Uint8Array[]): LeafSource {
  return {
    leaf(index) {
      const hash = leafHashes[index];
      if (hash === undefined) throw new Error(`no leaf ${index}`);
      return hash;
    },
  };
}
