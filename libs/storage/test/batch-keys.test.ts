import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BatchKeys } from '../src/batch-keys.js';
import { KeySlot } from '../src/decide.js';
import { prepareBatch } from '../src/input.js';
import { KEY_HASH_SEED, keyHash, keyHashStep } from '../src/key-hash.js';
import { defaultLimits } from '../src/limits.js';

const keyArb = fc.oneof(
  fc.integer({ min: 0, max: 30 }).map((n) => `k${n}`),
  fc.string({ minLength: 1, maxLength: 8, unit: 'binary' }),
  fc.string({ minLength: 1, maxLength: 8, unit: 'grapheme' }),
);

/**
 * Two different keys with the same keyHash, built rather than searched: FNV-1a ends with two steps
 * h -> ((h ^ c1) * P ^ c2) * P, and P is odd, so "x" + c1 + c2 and "x" + d1 + d2 collide when
 * (h ^ c1) * P ^ (h ^ d1) * P == c2 ^ d2, which a 16-bit code unit can absorb once the two products
 * differ only in their low 16 bits (about one d1 in 65,536 does).
 */
function collidingPair(): [string, string] {
  const h = keyHashStep(KEY_HASH_SEED, 'x'.charCodeAt(0));
  const c1 = 0x61;
  const left = keyHashStep(h, c1);
  for (let d1 = 0; d1 < 0x10000; d1 += 1) {
    const difference = (left ^ keyHashStep(h, d1)) >>> 0;
    if (d1 === c1 || difference > 0xffff) continue;
    const c2 = 0x62;
    return [`x${String.fromCharCode(c1, c2)}`, `x${String.fromCharCode(d1, c2 ^ difference)}`];
  }
  throw new Error('no colliding pair');
}

test('a batch key table finds what a Map finds, and visits keys in first-seen order', () => {
  fc.assert(
    fc.property(fc.array(keyArb, { minLength: 1, maxLength: 300 }), (keys) => {
      const table = new BatchKeys(keys.length);
      const reference = new Map<string, KeySlot>();
      for (const key of keys) {
        const hash = keyHash(key);
        const found = table.get(key, hash);
        assert.equal(found, reference.get(key));
        if (found !== undefined) continue;
        const slot = new KeySlot(key, hash, 0, -1);
        table.add(slot);
        reference.set(key, slot);
      }
      assert.equal(table.size, reference.size);
      const visited: KeySlot[] = [];
      table.forEach((slot) => visited.push(slot));
      assert.deepEqual(visited, [...reference.values()]);
    }),
  );
});

test('keys whose hashes are equal stay apart', () => {
  const [a, b] = collidingPair();
  assert.notEqual(a, b);
  assert.equal(keyHash(a), keyHash(b));
  const table = new BatchKeys(2);
  const slotA = new KeySlot(a, keyHash(a), 1, 10);
  table.add(slotA);
  assert.equal(table.get(b, keyHash(b)), undefined);
  const slotB = new KeySlot(b, keyHash(b), 2, 20);
  table.add(slotB);
  assert.equal(table.get(a, keyHash(a)), slotA);
  assert.equal(table.get(b, keyHash(b)), slotB);
});

test('a batch key table refuses more keys than the records it was sized for', () => {
  const table = new BatchKeys(1);
  table.add(new KeySlot('a', keyHash('a'), 0, -1));
  assert.throws(() => table.add(new KeySlot('b', keyHash('b'), 0, -1)), RangeError);
});

test('a prepared record carries the keyHash of its key, ASCII or not', () => {
  fc.assert(
    // Keys with a lone surrogate are refused by prepareBatch (tested with the store).
    fc.property(fc.array(keyArb.filter((key) => !/\p{Cs}/u.test(key)), { minLength: 1, maxLength: 20 }), (keys) => {
      const [tx] = prepareBatch(
        { seq: 1, txs: [{ id: 't', contentHash: new Uint8Array(32), meta: new Uint8Array(0), records: keys.map((key) => ({ key, value: new Uint8Array(1) })) }] },
        defaultLimits,
      );
      assert.ok(tx !== undefined);
      tx.records.forEach((record, i) => assert.equal(record.hash, keyHash(keys[i] as string)));
    }),
  );
});
