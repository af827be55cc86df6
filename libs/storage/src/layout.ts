import { readU32, readU64, writeU32, writeU64 } from './bytes.js';
import { StorageError, StorageErrorCode } from './errors.js';

// The RocksDB key layout (docs/design/storage.md, "Key layout", is the reference for tamper tests).
// One ASCII byte names each family; integers are big-endian so key order is numeric order.
//   F                              -> format marker (FORMAT_MARKER)
//   H                              -> head: size, last applied seq, distinct keys, compact range
//   S u64(seq)                     -> head after the batch with that stream sequence: size, root
//   L u64(first leaf)              -> leaf chunk: the encoded leaves of one batch within one 256-block
//   V u64(first leaf)              -> value chunk: the values of the same leaves (erasable)
//   T u8(row) u64(tile)            -> tile: hashes of tree levels 8*row .. 8*row+7
//   K u32(key len) key u64(version)-> leaf index of that version of the key
//   X tx id                        -> transaction: content hash, first leaf, leaf count, meta
export const Family = {
  Format: 0x46,
  Head: 0x48,
  SeqHead: 0x53,
  Leaves: 0x4c,
  Values: 0x56,
  Tile: 0x54,
  Key: 0x4b,
  Tx: 0x58,
} as const;

export const FORMAT_MARKER = new TextEncoder().encode('cairn-storage-v1');
export const FORMAT_KEY = Uint8Array.of(Family.Format);
export const HEAD_KEY = Uint8Array.of(Family.Head);
/** A chunk never spans a 256-leaf block, so reading one leaf reads at most 256 entries. */
export const CHUNK_LEAVES_MAX = 256;
/** Value-length marker of an erased value. */
export const ERASED = 0xffff_ffff;

export function familyU64Key(family: number, value: number): Uint8Array {
  const key = new Uint8Array(9);
  key[0] = family;
  writeU64(key, 1, value);
  return key;
}

export const seqHeadKey = (seq: number): Uint8Array => familyU64Key(Family.SeqHead, seq);
export const leafChunkKey = (first: number): Uint8Array => familyU64Key(Family.Leaves, first);
export const valueChunkKey = (first: number): Uint8Array => familyU64Key(Family.Values, first);

export function tileKey(row: number, tile: number): Uint8Array {
  const key = new Uint8Array(10);
  key[0] = Family.Tile;
  key[1] = row;
  writeU64(key, 2, tile);
  return key;
}

/** Bytes of a key-index prefix before the key itself: family and u32 length. */
export const KEY_PREFIX_BYTES = 5;

/** Prefix of every version entry of a key; the length keeps "a" from prefixing "ab". */
export function keyPrefix(keyBytes: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(KEY_PREFIX_BYTES + keyBytes.length);
  prefix.set(keyBytes, KEY_PREFIX_BYTES);
  fillKeyPrefix(prefix);
  return prefix;
}

/** Writes family and length into a prefix whose key bytes are already in place. */
export function fillKeyPrefix(prefix: Uint8Array): void {
  prefix[0] = Family.Key;
  writeU32(prefix, 1, prefix.length - KEY_PREFIX_BYTES);
}

export function keyVersionKey(prefix: Uint8Array, version: number): Uint8Array {
  const key = new Uint8Array(prefix.length + 8);
  key.set(prefix);
  writeU64(key, prefix.length, version);
  return key;
}

export function txKey(txIdBytes: Uint8Array): Uint8Array {
  const key = new Uint8Array(1 + txIdBytes.length);
  key[0] = Family.Tx;
  key.set(txIdBytes, 1);
  return key;
}

export function corrupt(what: string, cause?: unknown): StorageError {
  return new StorageError(StorageErrorCode.Corrupt, what, cause === undefined ? undefined : { cause });
}

// ---- head ------------------------------------------------------------------------------------

export interface HeadState {
  readonly size: number;
  readonly seq: number;
  readonly distinctKeys: number;
  readonly hashes: readonly Uint8Array[];
}

const HEAD_VERSION = 1;

export function encodeHead(head: HeadState): Uint8Array {
  const out = new Uint8Array(1 + 8 * 3 + 1 + 32 * head.hashes.length);
  out[0] = HEAD_VERSION;
  writeU64(out, 1, head.size);
  writeU64(out, 9, head.seq);
  writeU64(out, 17, head.distinctKeys);
  out[25] = head.hashes.length;
  head.hashes.forEach((hash, i) => out.set(hash, 26 + 32 * i));
  return out;
}

export function decodeHead(bytes: Uint8Array): HeadState {
  try {
    if (bytes[0] !== HEAD_VERSION) throw corrupt(`head version ${String(bytes[0])}`);
    const count = bytes[25] ?? 0;
    if (bytes.length !== 26 + 32 * count) throw corrupt('head length');
    const hashes: Uint8Array[] = [];
    for (let i = 0; i < count; i += 1) hashes.push(bytes.slice(26 + 32 * i, 58 + 32 * i));
    return { size: readU64(bytes, 1), seq: readU64(bytes, 9), distinctKeys: readU64(bytes, 17), hashes };
  } catch (error) {
    throw error instanceof StorageError ? error : corrupt('head', error);
  }
}

export function encodeSeqHead(size: number, root: Uint8Array): Uint8Array {
  const out = new Uint8Array(40);
  writeU64(out, 0, size);
  out.set(root, 8);
  return out;
}

export function decodeSeqHead(bytes: Uint8Array): { size: number; root: Uint8Array } {
  if (bytes.length !== 40) throw corrupt('seq head length');
  return { size: readU64(bytes, 0), root: bytes.slice(8) };
}

// ---- transactions ----------------------------------------------------------------------------

export interface TxRecord {
  readonly contentHash: Uint8Array;
  readonly firstLeaf: number;
  readonly leafCount: number;
  readonly meta: Uint8Array;
}

export function encodeTx(tx: TxRecord): Uint8Array {
  const out = new Uint8Array(32 + 8 + 4 + 4 + tx.meta.length);
  out.set(tx.contentHash, 0);
  writeU64(out, 32, tx.firstLeaf);
  writeU32(out, 40, tx.leafCount);
  writeU32(out, 44, tx.meta.length);
  out.set(tx.meta, 48);
  return out;
}

export function decodeTx(bytes: Uint8Array): TxRecord {
  if (bytes.length < 48 || bytes.length !== 48 + readU32(bytes, 44)) throw corrupt('transaction record length');
  return {
    contentHash: bytes.slice(0, 32),
    firstLeaf: readU64(bytes, 32),
    leafCount: readU32(bytes, 40),
    meta: bytes.slice(48),
  };
}

// ---- chunks: u32 count, then per entry u32 length (ERASED for an erased value) and the bytes ----

/** Every entry of a chunk (erasure rewrites whole chunks; reads use ChunkView). */
export function decodeChunk(bytes: Uint8Array, what: string): (Uint8Array | undefined)[] {
  const view = new ChunkView(bytes, what);
  return Array.from({ length: view.count }, (_, i) => view.entry(i));
}

/**
 * A chunk whose structure is checked once and whose entries are cut out only when read: a read of
 * one leaf used to make 2 x 256 views (the leaf and value chunks), most of a latest().
 */
export class ChunkView {
  /** Start of each entry's bytes, or -1 where the entry is erased. */
  readonly #starts: Int32Array;
  readonly #lengths: Uint32Array;

  constructor(
    readonly bytes: Uint8Array,
    what: string,
  ) {
    if (bytes.length < 4) throw corrupt(`${what} chunk too short`);
    const count = readU32(bytes, 0);
    if (count < 1 || count > CHUNK_LEAVES_MAX) throw corrupt(`${what} chunk count ${count}`);
    this.#starts = new Int32Array(count);
    this.#lengths = new Uint32Array(count);
    let at = 4;
    for (let i = 0; i < count; i += 1) {
      if (at + 4 > bytes.length) throw corrupt(`${what} chunk truncated`);
      const length = readU32(bytes, at);
      at += 4;
      if (length === ERASED) {
        this.#starts[i] = -1;
        continue;
      }
      if (at + length > bytes.length) throw corrupt(`${what} chunk truncated`);
      this.#starts[i] = at;
      this.#lengths[i] = length;
      at += length;
    }
    if (at !== bytes.length) throw corrupt(`${what} chunk has trailing bytes`);
  }

  get count(): number {
    return this.#starts.length;
  }

  /** Entry i (a view into the chunk's bytes), or undefined if erased. */
  entry(i: number): Uint8Array | undefined {
    const start = this.#starts[i];
    if (start === undefined) throw new RangeError(`chunk entry ${i} of ${this.count}`);
    return start < 0 ? undefined : this.bytes.subarray(start, start + (this.#lengths[i] as number));
  }
}

export function encodeChunk(entries: readonly (Uint8Array | undefined)[]): Uint8Array {
  let total = 4;
  for (const entry of entries) total += 4 + (entry?.length ?? 0);
  const out = new Uint8Array(total);
  writeU32(out, 0, entries.length);
  let at = 4;
  for (const entry of entries) {
    writeU32(out, at, entry === undefined ? ERASED : entry.length);
    at += 4;
    if (entry !== undefined) {
      out.set(entry, at);
      at += entry.length;
    }
  }
  return out;
}

export function readKeyVersionValue(bytes: Uint8Array): number {
  if (bytes.length !== 8) throw corrupt('key index entry length');
  return readU64(bytes, 0);
}
