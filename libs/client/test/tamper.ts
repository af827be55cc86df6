// Changes stored bytes of a stopped shard behind the ledger's back, through the same RocksDB binding
// and key layout the shard uses (libs/storage/src/layout.ts). Each edit flips bits in place, so the
// shard still opens and serves the tampered bytes: the SDK or the auditor must refuse them.
import { keyPrefix, keyVersionKey, leafChunkKey, openKv, tileKey, valueChunkKey, CHUNK_LEAVES_MAX, type Kv } from '@cairn/storage';

const ERASED = 0xffff_ffff;
const HASH = 32;
const TILE_WIDTH = 256;

async function withKv<T>(dir: string, fn: (kv: Kv) => Promise<T>): Promise<T> {
  const kv = await openKv(dir);
  try {
    return await fn(kv);
  } finally {
    await kv.close();
  }
}

const u32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at);

/** The chunk (of family `keyOf`) holding leaf `index`: its key, a copy of its bytes, and its first leaf. */
async function chunkOf(kv: Kv, keyOf: (first: number) => Uint8Array, index: number): Promise<{ key: Uint8Array; bytes: Uint8Array; first: number }> {
  const blockStart = index - (index % CHUNK_LEAVES_MAX);
  const [entry] = await kv.range({ gte: keyOf(blockStart), lte: keyOf(index), reverse: true, limit: 1 });
  if (entry === undefined) throw new Error(`no chunk holds leaf ${index}`);
  const key = Uint8Array.from(entry[0]);
  const first = Number(new DataView(key.buffer).getBigUint64(1));
  return { key, bytes: Uint8Array.from(entry[1]), first };
}

/** Offset and length of entry `k` of a chunk: u32 count, then per entry u32 length and the bytes. */
function entryOf(chunk: Uint8Array, k: number): { at: number; length: number } {
  let at = 4;
  for (let j = 0; j < k; j += 1) {
    const length = u32(chunk, at);
    at += 4 + (length === ERASED ? 0 : length);
  }
  return { at: at + 4, length: u32(chunk, at) };
}

async function flipInChunk(dir: string, keyOf: (first: number) => Uint8Array, index: number, offsetOf: (length: number) => number, mask: number): Promise<void> {
  await withKv(dir, async (kv) => {
    const chunk = await chunkOf(kv, keyOf, index);
    const { at, length } = entryOf(chunk.bytes, index - chunk.first);
    if (length === ERASED || length === 0) throw new Error(`leaf ${index} has no bytes to change`);
    const where = at + offsetOf(length);
    chunk.bytes[where] = (chunk.bytes[where] as number) ^ mask;
    const batch = kv.batch();
    batch.put(chunk.key, chunk.bytes);
    await kv.write(batch, { sync: true });
  });
}

/** Changes one byte inside the stored value of leaf `index` (a letter's case in the JSON text). */
export function tamperValue(dir: string, index: number): Promise<void> {
  return flipInChunk(dir, valueChunkKey, index, (length) => length - 3, 0x20);
}

/** Changes the stored leaf `index`: bit 1 of the last byte of its version (the u64 before the two hashes). */
export function tamperLeaf(dir: string, index: number): Promise<void> {
  return flipInChunk(dir, leafChunkKey, index, (length) => length - 2 * HASH - 1, 0x02);
}

/** Changes the stored tree node of level 0 at `index` (the leaf hash) in its tile. */
export async function tamperTileNode(dir: string, index: number): Promise<void> {
  await withKv(dir, async (kv) => {
    const key = tileKey(0, Math.floor(index / TILE_WIDTH));
    const stored = await kv.get(key);
    if (stored === undefined) throw new Error(`tile of leaf ${index} missing`);
    const bytes = Uint8Array.from(stored);
    const at = 2 + HASH * (index % TILE_WIDTH) + 7;
    bytes[at] = (bytes[at] as number) ^ 0x01;
    const batch = kv.batch();
    batch.put(key, bytes);
    await kv.write(batch, { sync: true });
  });
}

/** Points the key-index entry of (key, version) at another leaf. */
export async function tamperKeyIndex(dir: string, key: string, version: number, leafIndex: number): Promise<void> {
  await withKv(dir, async (kv) => {
    const value = new Uint8Array(8);
    new DataView(value.buffer).setBigUint64(0, BigInt(leafIndex));
    const batch = kv.batch();
    batch.put(keyVersionKey(keyPrefix(new TextEncoder().encode(key)), version), value);
    await kv.write(batch, { sync: true });
  });
}

/** Deletes the key-index entry of (key, version): the shard then knows the key only up to version - 1. */
export async function dropKeyIndexEntry(dir: string, key: string, version: number): Promise<void> {
  await withKv(dir, async (kv) => {
    const batch = kv.batch();
    batch.del(keyVersionKey(keyPrefix(new TextEncoder().encode(key)), version));
    await kv.write(batch, { sync: true });
  });
}
