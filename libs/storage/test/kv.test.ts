import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { openKv, StorageError, type KvEntry } from '../src/index.js';
import { compareBytes } from '../src/kv.js';
import { bindingsUnderTest, tempDir } from './helpers.js';

// Kv.lastInRanges against a naive model (the greatest stored key in [gte, lt), found by scanning
// the keys written): ranges that are empty, that end exactly on a stored key, that overlap, and
// keys holding 0x00 and 0xff bytes at the edges.

const keyBytes = fc.uint8Array({ minLength: 1, maxLength: 4 }).map((bytes) => bytes.map((b) => [0x00, 0x01, 0x7f, 0xfe, 0xff][b % 5] as number));

const span = fc.tuple(keyBytes, keyBytes).map(([a, b]) => (compareBytes(a, b) <= 0 ? { gte: a, lt: b } : { gte: b, lt: a }));

function lastInModel(entries: readonly KvEntry[], gte: Uint8Array, lt: Uint8Array): KvEntry | undefined {
  let last: KvEntry | undefined;
  for (const entry of entries) {
    if (compareBytes(entry[0], gte) < 0 || compareBytes(entry[0], lt) >= 0) continue;
    if (last === undefined || compareBytes(entry[0], last[0]) > 0) last = entry;
  }
  return last;
}

for (const binding of bindingsUnderTest()) {
  describe(`kv (${binding})`, () => {
    test('lastInRanges answers like a scan of the keys written, for every range', async () => {
      const { dir, cleanup } = tempDir(`kv-last-${binding}`);
      const kv = await openKv(dir, binding);
      let run = 0;
      try {
        await fc.assert(
          fc.asyncProperty(fc.uniqueArray(keyBytes, { maxLength: 40, comparator: (a, b) => compareBytes(a, b) === 0 }), fc.array(span, { maxLength: 30 }), async (keys, spans) => {
            // Each run writes under its own 4-byte prefix, so its ranges see only its keys.
            run += 1;
            const prefix = Uint8Array.of(run >>> 24, (run >>> 16) & 0xff, (run >>> 8) & 0xff, run & 0xff);
            const prefixed = (bytes: Uint8Array): Uint8Array => Uint8Array.of(...prefix, ...bytes);
            const entries: KvEntry[] = keys.map((key, i) => [prefixed(key), Uint8Array.of(i)]);
            const batch = kv.batch();
            for (const [key, value] of entries) batch.put(key, value);
            await kv.write(batch, { sync: false });
            const ranges = spans.map(({ gte, lt }) => ({ gte: prefixed(gte), lt: prefixed(lt) }));
            assert.deepEqual(
              await kv.lastInRanges(ranges),
              ranges.map(({ gte, lt }) => lastInModel(entries, gte, lt)),
            );
          }),
          { numRuns: 60 },
        );
      } finally {
        await kv.close();
        cleanup();
      }
    });

    test('reads after close are refused, not a crash', async () => {
      const { dir, cleanup } = tempDir(`kv-closed-${binding}`);
      const kv = await openKv(dir, binding);
      const key = Uint8Array.of(1, 2, 3);
      const batch = kv.batch();
      batch.put(key, Uint8Array.of(4));
      await kv.write(batch, { sync: true });
      await kv.close();
      try {
        const refused = (error: unknown): boolean => error instanceof Error;
        await assert.rejects(kv.get(key), refused);
        await assert.rejects(kv.getMany([key]), refused);
        await assert.rejects(kv.lastInRanges([{ gte: key, lt: Uint8Array.of(9) }]), refused);
        await assert.rejects(kv.range({ gte: key, limit: 1 }), refused);
        if (binding === 'nxtedition') await assert.rejects(kv.get(key), (error: unknown) => error instanceof StorageError && error.code === 'STORAGE_CLOSED');
      } finally {
        cleanup();
      }
    });
  });
}
