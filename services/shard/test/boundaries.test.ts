import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Boundaries, ShardError } from '../src/index.js';

test('exact lookups, and undefined below the oldest remembered message', () => {
  const b = new Boundaries(4);
  b.push(3, 10);
  b.push(7, 10);
  b.push(9, 15);
  assert.equal(b.lastAtOrBefore(2), undefined);
  assert.deepEqual(b.lastAtOrBefore(3), { seq: 3, size: 10 });
  assert.deepEqual(b.lastAtOrBefore(8), { seq: 7, size: 10 });
  assert.deepEqual(b.lastAtOrBefore(1000), { seq: 9, size: 15 });
  b.push(11, 16);
  b.push(12, 20); // evicts seq 3
  assert.equal(b.count, 4);
  assert.equal(b.lastAtOrBefore(5), undefined);
  assert.deepEqual(b.lastAtOrBefore(11), { seq: 11, size: 16 });
});

test('sequences and sizes never go back', () => {
  const b = new Boundaries(4);
  b.push(5, 5);
  assert.throws(() => b.push(5, 6), ShardError);
  assert.throws(() => b.push(6, 4), ShardError);
});

test('property: matches a naive scan over the kept window', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 3 })), { maxLength: 60 }), fc.integer({ min: 1, max: 16 }), (steps, capacity) => {
      const b = new Boundaries(capacity);
      const all: { seq: number; size: number }[] = [];
      let seq = 0;
      let size = 0;
      for (const [ds, dz] of steps) {
        seq += ds;
        size += dz;
        b.push(seq, size);
        all.push({ seq, size });
      }
      const kept = all.slice(-capacity);
      for (let q = 0; q <= seq + 1; q += 1) {
        const naive = kept.filter((x) => x.seq <= q).pop();
        assert.deepEqual(b.lastAtOrBefore(q), naive);
      }
    }),
  );
});
