import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { ChunkView, decodeChunk, encodeChunk } from '../src/layout.js';

// ChunkView reads entries on demand (reads of one leaf); decodeChunk cuts them all out (erasure
// rewrites a whole chunk). Both must read the same entries and refuse the same bad bytes.

const entries = fc.array(fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }), { minLength: 1, maxLength: 256 });

function viewEntries(bytes: Uint8Array): (Uint8Array | undefined)[] {
  const view = new ChunkView(bytes, 'test');
  return Array.from({ length: view.count }, (_, i) => view.entry(i));
}

function outcome(read: () => (Uint8Array | undefined)[]): string {
  try {
    return JSON.stringify(read().map((entry) => (entry === undefined ? null : Array.from(entry))));
  } catch (error) {
    return `throws ${(error as { code?: string }).code ?? String(error)}`;
  }
}

test('a chunk view reads the entries decodeChunk reads', () => {
  fc.assert(
    fc.property(entries, (list) => {
      const bytes = encodeChunk(list);
      assert.deepEqual(viewEntries(bytes), decodeChunk(bytes, 'test'));
    }),
  );
});

test('a chunk view refuses exactly the bytes decodeChunk refuses', () => {
  fc.assert(
    fc.property(entries, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 8 }), (list, at, byte, cut) => {
      const bytes = encodeChunk(list);
      const bad = bytes.slice(0, Math.max(0, bytes.length - cut));
      if (bad.length > 0) bad[at % bad.length] = byte;
      assert.equal(outcome(() => viewEntries(bad)), outcome(() => decodeChunk(bad, 'test')));
    }),
    { numRuns: 500 },
  );
});

test('both refuse a chunk of no entries, of too many, and one cut inside a length field', () => {
  const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const cases: [string, Uint8Array][] = [
    ['count 0', Uint8Array.of(...u32(0))],
    ['count 257', Uint8Array.of(...u32(257), ...Array.from({ length: 257 }, () => u32(0)).flat())],
    ['length field cut', Uint8Array.of(...u32(1), 0, 0)],
    ['entry cut', Uint8Array.of(...u32(1), ...u32(3), 7, 7)],
  ];
  for (const [name, bytes] of cases) {
    assert.match(outcome(() => viewEntries(bytes)), /^throws STORAGE_CORRUPT$/, `view: ${name}`);
    assert.match(outcome(() => decodeChunk(bytes, 'test')), /^throws STORAGE_CORRUPT$/, `decodeChunk: ${name}`);
  }
});
