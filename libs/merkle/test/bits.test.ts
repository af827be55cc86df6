import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  bitLength,
  countOnes,
  countTrailingOnes,
  countTrailingZeros,
  divergenceHeight,
  largestPowerOfTwoBelow,
  shiftDown,
} from '../src/bits.js';

// The production helpers do bit arithmetic on doubles; BigInt is the independent reference.
const big = (n: number): bigint => BigInt(n);
const refBitLength = (n: bigint): number => n.toString(2).replace(/^0+/, '').length;
const refOnes = (n: bigint): number => [...n.toString(2)].filter((c) => c === '1').length;
const refTrailing = (n: bigint, bit: '0' | '1'): number => {
  const text = n.toString(2);
  let count = 0;
  for (let i = text.length - 1; i >= 0 && text[i] === bit; i -= 1) count += 1;
  return count;
};

const edges = [0, 1, 2, 3, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 5, 2 ** 52, 2 ** 53 - 2, 2 ** 53 - 1];
const safeNat = fc.oneof(fc.constantFrom(...edges), fc.maxSafeNat(), fc.integer({ min: 0, max: 2 ** 34 }));

test('bitLength, countOnes, trailing zeros and ones agree with BigInt above 2^32', () => {
  fc.assert(
    fc.property(safeNat, (n) => {
      assert.equal(bitLength(n), refBitLength(big(n)));
      assert.equal(countOnes(n), refOnes(big(n)));
      assert.equal(countTrailingOnes(n), refTrailing(big(n), '1'));
      if (n > 0) assert.equal(countTrailingZeros(n), refTrailing(big(n), '0'));
    }),
    { numRuns: 2000 },
  );
});

test('divergenceHeight is bitLength(a XOR b); shiftDown is >> without 32-bit truncation', () => {
  fc.assert(
    fc.property(safeNat, safeNat, fc.integer({ min: 0, max: 53 }), (a, b, shift) => {
      assert.equal(divergenceHeight(a, b), refBitLength(big(a) ^ big(b)));
      assert.equal(shiftDown(a, shift), Number(big(a) >> BigInt(shift)));
    }),
    { numRuns: 2000 },
  );
});

test('largestPowerOfTwoBelow is the RFC 6962 split point k < n <= 2k', () => {
  fc.assert(
    fc.property(fc.oneof(fc.constantFrom(2, 3, 4, 5, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1), fc.integer({ min: 2, max: Number.MAX_SAFE_INTEGER })), (n) => {
      const k = largestPowerOfTwoBelow(n);
      assert.equal(countOnes(k), 1);
      assert.ok(k < n && n <= 2 * k, `${k} for ${n}`);
    }),
    { numRuns: 2000 },
  );
});

test('helpers refuse values that would never halve to zero, instead of looping', () => {
  for (const bad of [-1, -(2 ** 40), 0.5, Number.NaN, Infinity, 2 ** 53]) {
    for (const run of [() => bitLength(bad), () => countOnes(bad), () => countTrailingOnes(bad), () => countTrailingZeros(bad), () => divergenceHeight(bad, 3), () => divergenceHeight(3, bad)]) {
      assert.throws(run, /MERKLE_BAD_INTEGER/);
    }
  }
});
