import { hash } from 'node:crypto';
import { nativeHash } from './native-hash.js';

// The hashing of a batch, shared by the pool's workers and the inline path so both give the same
// bytes. The batch lives in one SharedArrayBuffer laid out by the main thread:
//   record table: RECORD_FIELDS u32 per record (value offset, value length, leaf offset, leaf
//                 length, transaction ordinal)
//   tx table:     TX_FIELDS u32 per transaction (meta offset, meta length)
//   leaf hashes:  32 bytes per record, written here
//   data:         the leaf and value chunks exactly as they are stored, leaves encoded with
//                 zero-filled hashes that this code fills in place
// Shared memory instead of transferred buffers: the main thread keeps reading the same bytes
// (building its write batch) while a worker hashes them, and nothing is copied either way.

export const RECORD_FIELDS = 5;
export const TX_FIELDS = 2;

export interface HashTask {
  readonly shared: SharedArrayBuffer | ArrayBuffer;
  readonly recordTable: number;
  readonly txTable: number;
  readonly leafHashes: number;
  readonly begin: number;
  readonly end: number;
}

const LEAF_PREFIX = 0x00;
// The leaf's trailer holds two SHA-256 hashes (libs/wire LEAF_TRAILER_BYTES); kept local so a
// worker loads nothing but node:crypto.
const LEAF_HASH_BYTES = 32;
/** Leaves up to this size are prefixed in one reused buffer (one per thread) instead of a new one. */
const scratch = new Uint8Array(1 + 4096);
scratch[0] = LEAF_PREFIX;

/**
 * For records [begin, end): SHA-256 of the value and of the transaction's meta go into the leaf's
 * trailer, then the RFC 6962 leaf hash SHA-256(0x00 || leaf) into the leaf-hash table.
 * Returns the number of records hashed.
 */
export function hashRecords(task: HashTask): number {
  if (nativeHash !== undefined) {
    return nativeHash.hashRecords(new Uint8Array(task.shared), task.recordTable, task.txTable, task.leafHashes, task.begin, task.end);
  }
  return hashRecordsJs(task);
}

/** hashRecords on node:crypto, one call per hash: the fallback, and the reference the addon is tested against. */
export function hashRecordsJs(task: HashTask): number {
  const bytes = new Uint8Array(task.shared);
  const words = new Uint32Array(task.shared);
  let lastTx = -1;
  let metaHash: Uint8Array = new Uint8Array(0);
  for (let i = task.begin; i < task.end; i += 1) {
    const row = task.recordTable / 4 + i * RECORD_FIELDS;
    const valueAt = words[row] as number;
    const valueLength = words[row + 1] as number;
    const leafAt = words[row + 2] as number;
    const leafLength = words[row + 3] as number;
    const tx = words[row + 4] as number;
    if (tx !== lastTx) {
      const txRow = task.txTable / 4 + tx * TX_FIELDS;
      const metaAt = words[txRow] as number;
      metaHash = hash('sha256', bytes.subarray(metaAt, metaAt + (words[txRow + 1] as number)), 'buffer');
      lastTx = tx;
    }
    const valueHash = hash('sha256', bytes.subarray(valueAt, valueAt + valueLength), 'buffer');
    const trailer = leafAt + leafLength - 2 * LEAF_HASH_BYTES;
    bytes.set(valueHash, trailer);
    bytes.set(metaHash, trailer + LEAF_HASH_BYTES);
    const leaf = bytes.subarray(leafAt, leafAt + leafLength);
    let leafHash: Uint8Array;
    if (leafLength < scratch.length) {
      scratch.set(leaf, 1);
      leafHash = hash('sha256', scratch.subarray(0, 1 + leafLength), 'buffer');
    } else {
      const prefixed = new Uint8Array(1 + leafLength);
      prefixed.set(leaf, 1);
      leafHash = hash('sha256', prefixed, 'buffer');
    }
    bytes.set(leafHash, task.leafHashes + LEAF_HASH_BYTES * i);
  }
  return task.end - task.begin;
}
