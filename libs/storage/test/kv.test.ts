import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { openKv, type KvEntry } from '../src/index.js';
import { compareBytes } from '../src/kv.js';
import { bindingsUnderTest, tempDir } from './helpers.js';

// Kv.lastInRanges is held to the plain bounded reverse scan it replaces (range with limit 1):
// ranges that are empty, that end exactly on a stored key, that overlap, and keys holding 0x00
// and 0xff bytes at the edges.

const keyBytes = fc.uint8Array({ minLength: 1, maxLength: 4 }).map((bytes) => bytes.map((b) => [0x00, 0x01, 0x7f, 0xfe, 0xff][b % 5] as number));

const span = fc.tuple(keyBytes, keyBytes).map(([a, b]) => (compareBytes(a, b) <= 0 ? { gte: a, lt: b } : { gte: b, lt: a }));

for (const binding of bindingsUnderTest()) {
  describe(`kv (${binding})`, () => {
    test('lastInRanges answers like a reverse range of one entry, for every range', async () => {
      const { dir, cleanup } = tempDir(`kv-last-${binding}`);
      const kv = await openKv(dir, binding);
      try {
        await fc.assert(
          fc.asyncProperty(fc.uniqueArray(keyBytes, { maxLength: 40, comparator: (a, b) => compareBytes(a, b) === 0 }), fc.array(span, { maxLength: 30 }), async (keys, spans) => {
            // Each run writes its own keys under a fresh one-byte run prefix, so runs never see each other's.
            const run = Uint8Array.of(runs.next());
            const prefixed = (bytes: Uint8Array): Uint8Array => Uint8Array.of(...run, ...bytes);
            const batch = kv.batch();
            keys.forEach((key, i) => batch.put(prefixed(key), Uint8Array.of(i)));
            await kv.write(batch, { sync: false });
            const ranges = spans.map(({ gte, lt }) => ({ gte: prefixed(gte), lt: prefixed(lt) }));
            const expected: (KvEntry | undefined)[] = [];
            for (const range of ranges) expected.push((await kv.range({ ...range, reverse: true, limit: 1 }))[0]);
            assert.deepEqual(await kv.lastInRanges(ranges), expected);
          }),
          { numRuns: 60 },
        );
      } finally {
        await kv.close();
        cleanup();
      }
    });
  });
}

/** One-byte run prefixes 1..250, in turn (60 runs per binding never wrap). */
const runs = {
  last: 0,
  next(): number {
    this.last = (this.last % 250) + 1;
    return this.last;
  },
};
