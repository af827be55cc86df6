/* eslint no-bitwise: "error" */
import { MerkleError, MerkleErrorCode } from './errors.js';

// Tree sizes and indexes are JavaScript numbers up to 2^53-1. The bitwise operators (>>, &, ^, ...)
// truncate to 32 bits, so a tree past 4 Gi leaves would silently get wrong proofs. Every helper
// here is plain arithmetic on doubles: halving and powers of two are exact below 2^53.

/** Largest tree size (and leaf count) this package accepts. */
export const TREE_SIZE_MAX = Number.MAX_SAFE_INTEGER;

/** Bits in a safe integer: no loop below runs more than this many times. */
export const SAFE_INTEGER_BITS = 53;

export function assertSafeCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new MerkleError(MerkleErrorCode.BadInteger, `${what} must be a safe non-negative integer, got ${String(value)}`);
  }
}

export function pow2(exponent: number): number {
  return 2 ** exponent;
}

/** floor(value / 2^shift): exact for safe integers. */
export function shiftDown(value: number, shift: number): number {
  return Math.floor(value / 2 ** shift);
}

export function isOdd(value: number): boolean {
  return value % 2 === 1;
}

/**
 * Every helper below halves a safe non-negative integer, so it runs at most SAFE_INTEGER_BITS
 * times; the input check turns a caller's bug (a negative or non-integer value, which would never
 * reach 0 by halving) into an error instead of a hang.
 */
function assertBitsInput(value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new MerkleError(MerkleErrorCode.BadInteger, `bit arithmetic on ${String(value)}: not a safe non-negative integer`);
  }
}

/** Number of bits needed to write value (0 for 0). */
export function bitLength(value: number): number {
  assertBitsInput(value);
  let length = 0;
  for (let rest = value; rest > 0; rest = Math.floor(rest / 2)) length += 1;
  return length;
}

/** Trailing zero bits of a positive value (SAFE_INTEGER_BITS for 0, which no caller relies on). */
export function countTrailingZeros(value: number): number {
  assertBitsInput(value);
  if (value === 0) return SAFE_INTEGER_BITS;
  let count = 0;
  for (let rest = value; rest % 2 === 0; rest /= 2) count += 1;
  return count;
}

export function countTrailingOnes(value: number): number {
  assertBitsInput(value);
  let count = 0;
  for (let rest = value; rest % 2 === 1; rest = (rest - 1) / 2) count += 1;
  return count;
}

/** Number of set bits (population count). */
export function countOnes(value: number): number {
  assertBitsInput(value);
  let count = 0;
  for (let rest = value; rest > 0; rest = Math.floor(rest / 2)) count += rest % 2;
  return count;
}

/**
 * bitLength(a XOR b) without XOR: how many times both must be halved before they agree, i.e. the
 * height above which the paths of two tree positions share their ancestors.
 */
export function divergenceHeight(a: number, b: number): number {
  assertBitsInput(a);
  assertBitsInput(b);
  let height = 0;
  for (let x = a, y = b; x !== y; x = Math.floor(x / 2), y = Math.floor(y / 2)) height += 1;
  return height;
}

/** Largest power of two strictly below n (n >= 2): the RFC 6962 split point k. */
export function largestPowerOfTwoBelow(n: number): number {
  return 2 ** (bitLength(n - 1) - 1);
}
