import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CompactRange, nobleHasher } from '@cairn/merkle';
import { nativeHash } from '../src/native-hash.js';
import { TileWriter } from '../src/tiles.js';
import { appendLeafRun, pairHasher, TreeScratch } from '../src/tree-append.js';

// appendLeafRun (a level at a time) against CompactRange.append with the tile visitor (a leaf at a
// time): the same range, the same root and byte-identical tiles, from any size, for any count.

function leafHashes(first: number, count: number): Uint8Array {
  const bytes = new Uint8Array(32 * count);
  for (let i = 0; i < count; i += 1) bytes.set(nobleHasher.leaf(Uint8Array.of(7, ...String(first + i).split('').map((c) => c.charCodeAt(0)))), 32 * i);
  return bytes;
}

/** A range and tiles at `size`, built leaf by leaf. */
function grown(size: number): { range: CompactRange; tiles: TileWriter } {
  const range = CompactRange.empty(nobleHasher);
  const tiles = new TileWriter();
  const leaves = leafHashes(0, size);
  for (let i = 0; i < size; i += 1) range.append(leaves.subarray(32 * i, 32 * i + 32), tiles.visit);
  tiles.flush();
  return { range, tiles };
}

function flushed(tiles: TileWriter): string[] {
  return tiles
    .flush()
    .map((t) => `${Buffer.from(t.key).toString('hex')}=${Buffer.from(t.value).toString('hex')}`)
    .sort();
}

function check(size: number, count: number, native: boolean): void {
  const reference = grown(size);
  const batched = grown(size);
  const leaves = leafHashes(size, count);
  const next = appendLeafRun(batched.range, leaves, count, batched.tiles, pairHasher(nobleHasher, native ? nativeHash : undefined), nobleHasher, new TreeScratch());
  for (let i = 0; i < count; i += 1) reference.range.append(leaves.subarray(32 * i, 32 * i + 32), reference.tiles.visit);
  assert.equal(next.size, reference.range.size);
  assert.deepEqual(next.hashes, reference.range.hashes);
  assert.deepEqual(next.root(), reference.range.root());
  assert.deepEqual(flushed(batched.tiles), flushed(reference.tiles));
  // The range passed in is left as it was.
  assert.equal(batched.range.size, size);
}

describe('appendLeafRun', () => {
  for (const native of [false, true]) {
    const name = native ? 'native pair hashing' : 'hasher.node';
    it(`matches leaf-by-leaf appends from random sizes (${name})`, { skip: native && nativeHash === undefined && 'addon not built' }, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 1200 }), fc.integer({ min: 0, max: 700 }), (size, count) => check(size, count, native)),
        { numRuns: 40 },
      );
    });

    it(`matches across tile and row boundaries (${name})`, { skip: native && nativeHash === undefined && 'addon not built' }, () => {
      for (const [size, count] of [
        [0, 1], [1, 1], [255, 1], [255, 2], [256, 256], [511, 514], [65535, 1], [65535, 3], [65536 - 300, 600],
      ] as const) {
        check(size, count, native);
      }
    });
  }

  it('refuses a leaf buffer shorter than the count says', () => {
    const { range, tiles } = grown(3);
    assert.throws(() => appendLeafRun(range, new Uint8Array(31), 1, tiles, pairHasher(nobleHasher, undefined), nobleHasher, new TreeScratch()), RangeError);
  });
});
