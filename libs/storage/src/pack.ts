import { LEAF_FORMAT_V1, LEAF_HASH_BYTES, leafEncodedBytes } from '@cairn/wire';
import { writeU32, writeU64 } from './bytes.js';
import { RECORD_FIELDS, TX_FIELDS, type HashTask } from './hash-task.js';
import type { PreparedRecord, PreparedTx } from './input.js';
import { CHUNK_LEAVES_MAX, KEY_PREFIX_BYTES } from './layout.js';

// Lays out the accepted records of a batch in one shared buffer (format in hash-task.ts): the leaf
// and value chunks are written once, in their stored format, so the RocksDB puts are views of it.

export interface PackedChunk {
  readonly first: number;
  readonly leaves: Uint8Array;
  readonly values: Uint8Array;
}

export interface PackedBatch {
  readonly shared: SharedArrayBuffer | ArrayBuffer;
  readonly recordTable: number;
  readonly txTable: number;
  readonly leafHashes: number;
  readonly count: number;
  readonly chunks: PackedChunk[];
}

/**
 * The leaf of docs/leaf-encoding.md (as @cairn/wire's encodeLeafInto writes it) without its two
 * trailing hashes, which hashRecords fills in. Written here from the record's key-index prefix,
 * whose last 4 + n bytes are the leaf's length-prefixed key (both big-endian u32): the prefix is
 * copied one byte early, over the last byte of the id, which the id's copy then restores. No
 * DataView and no subarray per record: encodeLeafInto's were ~6% of an append. test/pack.test.ts
 * holds the bytes to encodeLeafInto's.
 */
function writeLeaf(bytes: Uint8Array, at: number, idBytes: Uint8Array, prefix: Uint8Array, version: number): number {
  const keyLengthAt = at + 1 + 4 + idBytes.length;
  bytes.set(prefix, keyLengthAt - 1);
  bytes[at] = LEAF_FORMAT_V1;
  writeU32(bytes, at + 1, idBytes.length);
  bytes.set(idBytes, at + 5);
  const versionAt = keyLengthAt + prefix.length - 1;
  writeU64(bytes, versionAt, version);
  return versionAt + 8 + 2 * LEAF_HASH_BYTES - at;
}

/** [begin, end) offsets into `accepted` of each chunk: no chunk crosses a 256-leaf block. */
function chunkBounds(firstLeaf: number, count: number): [number, number][] {
  const bounds: [number, number][] = [];
  let begin = 0;
  while (begin < count) {
    const leaf = firstLeaf + begin;
    const end = Math.min(count, begin + (CHUNK_LEAVES_MAX - (leaf % CHUNK_LEAVES_MAX)));
    bounds.push([begin, end]);
    begin = end;
  }
  return bounds;
}

/**
 * The buffer a batch is packed into, reused from batch to batch (appends are serialized and the
 * RocksDB binding copies what is put). Allocating a fresh SharedArrayBuffer per batch made posting
 * it to the pool cost milliseconds once many were alive; one long-lived buffer costs nothing.
 */
export class PackBuffer {
  #buffer: SharedArrayBuffer | ArrayBuffer | undefined;

  constructor(readonly shared: boolean) {}

  /** A zero-copy buffer of at least `bytes` bytes; its previous contents are garbage. */
  take(bytes: number): SharedArrayBuffer | ArrayBuffer {
    if (this.#buffer === undefined || this.#buffer.byteLength < bytes) {
      const size = Math.max(bytes, 2 * (this.#buffer?.byteLength ?? 0), 64 * 1024);
      this.#buffer = this.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
    }
    return this.#buffer;
  }
}

export function packBatch(
  accepted: readonly PreparedRecord[],
  committed: readonly { readonly tx: PreparedTx }[],
  firstLeaf: number,
  into: PackBuffer,
): PackedBatch {
  const count = accepted.length;
  const recordTable = 0;
  const txTable = recordTable + 4 * RECORD_FIELDS * count;
  const leafHashes = txTable + 4 * TX_FIELDS * committed.length;
  let dataBytes = 0;
  for (const a of accepted) {
    const tx = (committed[a.txOrdinal] as { tx: PreparedTx }).tx;
    dataBytes += 4 + leafEncodedBytes(tx.idBytes.length, a.prefix.length - KEY_PREFIX_BYTES) + 4 + a.value.length;
  }
  for (const { tx } of committed) dataBytes += tx.meta.length;
  const bounds = chunkBounds(firstLeaf, count);
  const dataStart = leafHashes + 32 * count;
  const total = Math.ceil((dataStart + dataBytes + 8 * bounds.length) / 4) * 4;
  const buffer = into.take(total);
  const bytes = new Uint8Array(buffer);
  const words = new Uint32Array(buffer, 0, total / 4);
  let at = dataStart;
  const chunks: PackedChunk[] = [];
  for (const [begin, end] of bounds) {
    const leavesAt = at;
    writeU32(bytes, at, end - begin);
    at += 4;
    for (let i = begin; i < end; i += 1) {
      const a = accepted[i] as PreparedRecord;
      const tx = (committed[a.txOrdinal] as { tx: PreparedTx }).tx;
      const length = writeLeaf(bytes, at + 4, tx.idBytes, a.prefix, a.version);
      writeU32(bytes, at, length);
      const row = (recordTable / 4) + i * RECORD_FIELDS;
      words[row + 2] = at + 4;
      words[row + 3] = length;
      words[row + 4] = a.txOrdinal;
      at += 4 + length;
    }
    const valuesAt = at;
    writeU32(bytes, at, end - begin);
    at += 4;
    for (let i = begin; i < end; i += 1) {
      const value = (accepted[i] as PreparedRecord).value;
      writeU32(bytes, at, value.length);
      bytes.set(value, at + 4);
      const row = (recordTable / 4) + i * RECORD_FIELDS;
      words[row] = at + 4;
      words[row + 1] = value.length;
      at += 4 + value.length;
    }
    chunks.push({
      first: firstLeaf + begin,
      leaves: bytes.subarray(leavesAt, valuesAt),
      values: bytes.subarray(valuesAt, at),
    });
  }
  committed.forEach(({ tx }, t) => {
    bytes.set(tx.meta, at);
    words[txTable / 4 + t * TX_FIELDS] = at;
    words[txTable / 4 + t * TX_FIELDS + 1] = tx.meta.length;
    at += tx.meta.length;
  });
  return { shared: buffer, recordTable, txTable, leafHashes, count, chunks };
}

/** Tasks of at most `perTask` records covering records [0, end) of the batch. */
export function hashTasks(packed: PackedBatch, perTask: number, end: number = packed.count): HashTask[] {
  const tasks: HashTask[] = [];
  for (let begin = 0; begin < end; begin += perTask) {
    tasks.push({
      shared: packed.shared,
      recordTable: packed.recordTable,
      txTable: packed.txTable,
      leafHashes: packed.leafHashes,
      begin,
      end: Math.min(end, begin + perTask),
    });
  }
  return tasks;
}
