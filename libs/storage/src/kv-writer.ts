import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { readU32 } from './bytes.js';

// The nxtedition binding writes on the calling thread: a synced write of a 1,000-record batch
// (WAL, fsync, about 1,300 memtable inserts) holds the main thread for 2 ms or more. This worker
// opens the same database from its native handle and does the writes, so the main thread decides
// and hashes the next batch meanwhile. Puts arrive as one shared buffer, read in place (put-list format in
// kv-nxtedition.ts); writes are done one at a time, in the order they arrive.

/** Value length that marks a delete in the put list. */
export const PUT_LIST_DELETE = 0xffff_ffff;

/** A put-list buffer the writes that follow name by id (sent once, not with every write). */
export interface RegisterRequest {
  readonly register: number;
  readonly bytes: SharedArrayBuffer;
}

export interface ForgetRequest {
  readonly forget: number;
}

export interface WriteRequest {
  readonly id: number;
  /** Id of a registered buffer holding the put list from offset 0. */
  readonly buffer: number;
  readonly length: number;
  readonly sync: boolean;
}

export interface WriteReply {
  readonly id: number;
  readonly error?: string;
}

export interface NxtBinding {
  db_init(handle: bigint): unknown;
  batch_init(): unknown;
  batch_put(batch: unknown, key: Uint8Array, value: Uint8Array, options: object): void;
  batch_del(batch: unknown, key: Uint8Array, options: object): void;
  batch_clear(batch: unknown): void;
  batch_write(db: unknown, batch: unknown, options: { sync: boolean }): void;
}

const NO_OPTIONS = {};

/**
 * The binding's native module, not its JavaScript wrapper: in the writer the wrapper would open the
 * database again, while db_init of a handle only wraps the one the main thread opened (and never
 * closes it).
 */
export function loadNxtBinding(): NxtBinding {
  return createRequire(import.meta.url)('@nxtedition/rocksdb/binding.js') as NxtBinding;
}

/** Writes a put list on the calling thread: the path for writes nothing else overlaps. */
export function writePutList(binding: NxtBinding, db: unknown, batch: unknown, bytes: Uint8Array, sync: boolean): void {
  binding.batch_clear(batch);
  try {
    applyPutList(binding, batch, bytes);
    binding.batch_write(db, batch, { sync });
  } finally {
    binding.batch_clear(batch);
  }
}

function serve(handle: bigint): void {
  const binding = loadNxtBinding();
  const db = binding.db_init(handle);
  const batch = binding.batch_init();
  const buffers = new Map<number, SharedArrayBuffer>();
  parentPort?.on('message', (request: WriteRequest | RegisterRequest | ForgetRequest) => {
    if ('register' in request) {
      buffers.set(request.register, request.bytes);
      return;
    }
    if ('forget' in request) {
      buffers.delete(request.forget);
      return;
    }
    let reply: WriteReply;
    try {
      const buffer = buffers.get(request.buffer);
      if (buffer === undefined) throw new Error(`put-list buffer ${request.buffer} was never registered`);
      writePutList(binding, db, batch, new Uint8Array(buffer, 0, request.length), request.sync);
      reply = { id: request.id };
    } catch (error) {
      reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
    }
    parentPort?.postMessage(reply);
  });
}

export function applyPutList(binding: NxtBinding, batch: unknown, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) {
    const keyLength = readU32(bytes, at);
    const valueLength = readU32(bytes, at + 4);
    const key = bytes.subarray(at + 8, at + 8 + keyLength);
    at += 8 + keyLength;
    if (valueLength === PUT_LIST_DELETE) {
      binding.batch_del(batch, key, NO_OPTIONS);
      continue;
    }
    binding.batch_put(batch, key, bytes.subarray(at, at + valueLength), NO_OPTIONS);
    at += valueLength;
  }
  if (at !== bytes.length) throw new RangeError('put list overruns its buffer');
}

if (parentPort !== null && typeof (workerData as { handle?: unknown } | undefined)?.handle === 'bigint') {
  serve((workerData as { handle: bigint }).handle);
}
