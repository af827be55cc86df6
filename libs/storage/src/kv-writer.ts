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

/**
 * Write requests go through a ring in shared memory, not postMessage: while the writer thread sat
 * in a synced write, a postMessage to it blocked the main thread for up to the write's length
 * (p90 1.3 ms, measured), which made the pipeline serial again. The main thread fills a slot
 * and bumps the posted count; the writer waits on the count with Atomics.waitAsync. Waking it has
 * the same cost while it writes (Atomics.notify p90 1.2 ms), so the main thread wakes it only
 * when it is idle: a busy writer looks at the count again after each write anyway.
 */
export const CONTROL_POSTED = 0;
/** Writes merged into one synced RocksDB write at most, and their put-list bytes at most. */
export const GROUP_WRITES_MAX = 8;
export const GROUP_BYTES_MAX = 64 * 1024 * 1024;
export const CONTROL_IDLE = 1;
export const REQUEST_SLOTS = 1024;
/** Ring slot fields, as float64: id, buffer id, put-list length, sync (1/0). */
export const REQUEST_FIELDS = 4;

export interface WriterData {
  readonly handle: bigint;
  /** Int32 [0]: requests posted so far (wrapping); [1]: 1 while the writer waits for requests. */
  readonly control: SharedArrayBuffer;
  /** Float64 REQUEST_SLOTS x REQUEST_FIELDS. */
  readonly slots: SharedArrayBuffer;
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
  iterator_init(db: unknown, options: Record<string, unknown>): unknown;
  /**
   * A reverse iterator's seek is RocksDB's SeekForPrev: the last key at or before the target. A
   * target at or past the upper bound, or below the lower bound, leaves no entry.
   */
  iterator_seek(iterator: unknown, target: Uint8Array): void;
  /** Up to `count` entries from the position, as [key, value, key, value, ...]. */
  iterator_nextv_sync(iterator: unknown, count: number): { rows: Buffer[]; finished: boolean };
  iterator_close(iterator: unknown): void;
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

/** ES2024's Atomics.waitAsync (in Node since 16), beyond this project's ES2022 lib. */
interface AtomicsWaitAsync {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}

function serve(data: WriterData): void {
  const binding = loadNxtBinding();
  const db = binding.db_init(data.handle);
  const batch = binding.batch_init();
  const buffers = new Map<number, SharedArrayBuffer>();
  const control = new Int32Array(data.control);
  const slots = new Float64Array(data.slots);
  let done = 0;
  /** The first failure: every write after it is refused. */
  let failed: string | undefined;
  /** Set while a request waits for its buffer's registration: the wait loop then stops. */
  let blocked = false;
  /** Does the posted writes in order; false if it stopped at a buffer not registered yet. */
  const drain = (): boolean => {
    Atomics.store(control, CONTROL_IDLE, 0);
    while (done !== Atomics.load(control, CONTROL_POSTED)) {
      const group = takeGroup();
      if (group.ids.length === 0) return false;
      // After a failed write nothing more lands: later writes were built on the failed one.
      let error = failed ?? group.error;
      try {
        if (error === undefined) binding.batch_write(db, batch, { sync: group.sync });
      } catch (cause) {
        error = cause instanceof Error ? cause.message : String(cause);
      } finally {
        binding.batch_clear(batch);
      }
      if (error !== undefined) failed ??= `an earlier write failed: ${error}`;
      for (const id of group.ids) parentPort?.postMessage({ id, ...(error === undefined ? {} : { error }) } satisfies WriteReply);
    }
    return true;
  };
  /**
   * Group commit: the writes posted while the last one was syncing go into one RocksDB write
   * batch with one sync. Each stays whole (they land together or not at all) and in order, and
   * the fsync, most of a write's time, is paid once for the group. A put list that does not
   * parse fails its whole group (the store stops at any failed write).
   */
  const takeGroup = (): { ids: number[]; sync: boolean; error: string | undefined } => {
    const ids: number[] = [];
    let sync = false;
    let bytes = 0;
    binding.batch_clear(batch);
    while (done !== Atomics.load(control, CONTROL_POSTED) && ids.length < GROUP_WRITES_MAX && bytes < GROUP_BYTES_MAX) {
      const at = REQUEST_FIELDS * (done & (REQUEST_SLOTS - 1));
      const buffer = buffers.get(slots[at + 1] as number);
      if (buffer === undefined) break;
      const length = slots[at + 2] as number;
      ids.push(slots[at] as number);
      sync ||= slots[at + 3] === 1;
      bytes += length;
      done = (done + 1) | 0;
      try {
        applyPutList(binding, batch, new Uint8Array(buffer, 0, length));
      } catch (cause) {
        return { ids, sync, error: cause instanceof Error ? cause.message : String(cause) };
      }
    }
    return { ids, sync, error: undefined };
  };
  // One loop at a time: drain, then wait for the count to move; or stop until a registration.
  const wait = (): void => {
    if (!drain()) {
      blocked = true;
      return;
    }
    // Idle is set before the count is read again (by waitAsync): a request posted after that read
    // sees idle and notifies; one posted before it makes waitAsync return at once.
    Atomics.store(control, CONTROL_IDLE, 1);
    const waited = (Atomics as unknown as AtomicsWaitAsync).waitAsync(control, CONTROL_POSTED, done);
    if (waited.async) void waited.value.then(wait);
    else setImmediate(wait);
  };
  parentPort?.on('message', (request: RegisterRequest | ForgetRequest) => {
    if ('forget' in request) {
      buffers.delete(request.forget);
      return;
    }
    buffers.set(request.register, request.bytes);
    if (blocked) {
      blocked = false;
      wait();
    }
  });
  wait();
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

if (parentPort !== null && typeof (workerData as Partial<WriterData> | undefined)?.handle === 'bigint') {
  serve(workerData as WriterData);
}
