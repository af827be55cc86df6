import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { writeU32, writeU64 } from './bytes.js';
import { StorageError, StorageErrorCode } from './errors.js';
import { asBuffer, compareBytes, plain, type Kv, type KvBatch, type KvEntry, type KvRange, type KvSpan } from './kv.js';
import {
  CONTROL_IDLE,
  CONTROL_POSTED,
  loadNxtBinding,
  PUT_LIST_DELETE,
  REQUEST_FIELDS,
  REQUEST_SLOTS,
  writePutList,
  type ForgetRequest,
  type NxtBinding,
  type RegisterRequest,
  type WriteReply,
  type WriterData,
} from './kv-writer.js';

// The binding is CommonJS without types: declare only what is used.
interface NxtDb {
  open(options: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
  readonly handle: bigint;
  getMany(keys: Buffer[], options: Record<string, unknown>): Promise<(Buffer | undefined)[]>;
  /** Private in v12; reads on the calling thread, skipping the thread-pool hop. */
  _getManySync?: (keys: Uint8Array[], options: Record<string, unknown>) => (Uint8Array | undefined | null)[];
  querySync(options: Record<string, unknown>): { rows: Buffer[]; finished: boolean };
}
type NxtModule = { RocksLevel: new (dir: string, options: Record<string, unknown>) => NxtDb };

const require = createRequire(import.meta.url);
const buffers = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;

/**
 * The binding compresses the WAL (zstd, on the synced write's path) and every level (zstd with a
 * trained dictionary) by default. An append writes ~380 KB per 1,000 records, and that
 * compression was ~1.5 us of CPU per record on two cores busy with deciding and writing.
 * "level" is RocksDB's level-style tuning with levels 0 and 1 left uncompressed and zstd from
 * level 2 on, so cold data is still compressed. Measured (1,000-record batches, 3 in flight,
 * interleaved): 170-178k records/s with the defaults, 195-214k with these (docs/design/storage.md).
 * "point-lookup" adds a bloom filter to the memtable (and a hash index to data blocks): every
 * append looks its batch's transaction ids up, nearly all absent, and those lookups cost the
 * calling thread ~3 us an id; with it the calling thread's CPU per record fell 2.67-2.92 ->
 * 2.55-2.67 us (3 interleaved runs each).
 */
const OPEN_OPTIONS = { compaction: 'level', walCompression: false, optimize: 'point-lookup' } as const;

/** First size of a put list's buffer; it doubles as needed (a batch is bounded by batch_bytes_max). */
const PUT_LIST_BYTES_MIN = 64 * 1024;
/** Idle put-list buffers kept for reuse: one per write that can be in flight, and then some. */
const PUT_LIST_BUFFERS_KEPT = 4;

/**
 * Shared buffers reused from write to write: the writer thread reads a put list in place, and a
 * buffer comes back once its write is done. Fresh buffers per write (hundreds of KB, zeroed,
 * doubled as the list grew) cost the main thread more than the puts themselves.
 */
class PutListBuffers {
  readonly #idle: SharedArrayBuffer[] = [];

  constructor(private readonly dropped: (buffer: SharedArrayBuffer) => void) {}

  take(bytes: number): SharedArrayBuffer {
    const index = this.#idle.findIndex((buffer) => buffer.byteLength >= bytes);
    if (index >= 0) return this.#idle.splice(index, 1)[0] as SharedArrayBuffer;
    return new SharedArrayBuffer(Math.max(bytes, PUT_LIST_BYTES_MIN));
  }

  give(buffer: SharedArrayBuffer): void {
    if (buffer.byteLength === 0) return;
    this.#idle.push(buffer);
    // Keep the largest: they fit every batch.
    this.#idle.sort((a, b) => b.byteLength - a.byteLength);
    for (const drop of this.#idle.splice(PUT_LIST_BUFFERS_KEPT)) this.dropped(drop);
  }
}

/**
 * The puts of one write, copied into one shared buffer that the writer thread (kv-writer.ts) reads
 * in place: per entry u32 key length, u32 value length (PUT_LIST_DELETE for a delete), key,
 * value. Copying at put() keeps the caller free to reuse its buffers, as a native batch would.
 */
class PutList implements KvBatch {
  bytes: Uint8Array;
  used = 0;
  #length = 0;

  constructor(private readonly buffers: PutListBuffers) {
    this.bytes = new Uint8Array(buffers.take(PUT_LIST_BYTES_MIN));
  }

  put(key: Uint8Array, value: Uint8Array): void {
    if (key.length === 0) throw new RangeError('empty RocksDB key');
    const at = this.#reserve(8 + key.length + value.length);
    writeU32(this.bytes, at, key.length);
    writeU32(this.bytes, at + 4, value.length);
    this.bytes.set(key, at + 8);
    this.bytes.set(value, at + 8 + key.length);
  }
  putKeyVersion(prefix: Uint8Array, version: number, leafIndex: number): void {
    if (prefix.length === 0) throw new RangeError('empty RocksDB key');
    const keyLength = prefix.length + 8;
    const at = this.#reserve(8 + keyLength + 8);
    writeU32(this.bytes, at, keyLength);
    writeU32(this.bytes, at + 4, 8);
    this.bytes.set(prefix, at + 8);
    writeU64(this.bytes, at + 8 + prefix.length, version);
    writeU64(this.bytes, at + 8 + keyLength, leafIndex);
  }
  del(key: Uint8Array): void {
    if (key.length === 0) throw new RangeError('empty RocksDB key');
    const at = this.#reserve(8 + key.length);
    writeU32(this.bytes, at, key.length);
    writeU32(this.bytes, at + 4, PUT_LIST_DELETE);
    this.bytes.set(key, at + 8);
  }
  get length(): number {
    return this.#length;
  }

  /** Hands the buffer back for the next list, once its write is done; the list is then empty. */
  release(): void {
    this.buffers.give(this.bytes.buffer as SharedArrayBuffer);
    this.bytes = new Uint8Array(0);
    this.used = 0;
  }

  #reserve(bytes: number): number {
    const at = this.used;
    if (at + bytes > this.bytes.length) {
      const grown = new Uint8Array(this.buffers.take(Math.max(2 * this.bytes.length, at + bytes)));
      grown.set(this.bytes.subarray(0, at));
      this.buffers.give(this.bytes.buffer as SharedArrayBuffer);
      this.bytes = grown;
    }
    this.used = at + bytes;
    this.#length += 1;
    return at;
  }
}

/** The writer thread: one write at a time, answered in order. */
class Writer {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  #next = 0;
  #failed: Error | undefined;
  /** Put-list buffers the writer holds, by id (a handful: PutListBuffers reuses them, and drops are forgotten). */
  readonly #bufferIds = new Map<SharedArrayBuffer, number>();
  #nextBufferId = 0;

  readonly #control = new Int32Array(new SharedArrayBuffer(8));
  readonly #slots = new Float64Array(new SharedArrayBuffer(8 * REQUEST_FIELDS * REQUEST_SLOTS));
  #posted = 0;

  constructor(handle: bigint) {
    const workerData: WriterData = { handle, control: this.#control.buffer as SharedArrayBuffer, slots: this.#slots.buffer as SharedArrayBuffer };
    this.#worker = new Worker(new URL('./kv-writer.js', import.meta.url), { workerData });
    this.#worker.unref();
    this.#worker.on('message', (reply: WriteReply) => {
      const waiter = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (reply.error === undefined) waiter?.resolve();
      else waiter?.reject(new Error(`RocksDB write failed: ${reply.error}`));
    });
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => this.#fail(new Error(`RocksDB writer thread exited (${code})`)));
  }

  write(list: PutList, sync: boolean): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    // The store bounds its writes in flight (append_queue_max <= 1024): the ring never laps.
    if (this.#pending.size >= REQUEST_SLOTS) return Promise.reject(new Error(`${REQUEST_SLOTS} writes already pending`));
    const id = this.#next;
    this.#next += 1;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Kept alive only while a write is pending: an idle store never holds the process open.
      this.#worker.ref();
      const buffer = list.bytes.buffer as SharedArrayBuffer;
      let bufferId = this.#bufferIds.get(buffer);
      if (bufferId === undefined) {
        // Registered once by message (a buffer can only be shared that way); the writer holds a
        // request for a buffer it does not know yet until the registration arrives.
        bufferId = this.#nextBufferId;
        this.#nextBufferId += 1;
        this.#bufferIds.set(buffer, bufferId);
        this.#worker.postMessage({ register: bufferId, bytes: buffer } satisfies RegisterRequest);
      }
      const at = REQUEST_FIELDS * (this.#posted & (REQUEST_SLOTS - 1));
      this.#slots[at] = id;
      this.#slots[at + 1] = bufferId;
      this.#slots[at + 2] = list.used;
      this.#slots[at + 3] = sync ? 1 : 0;
      this.#posted = (this.#posted + 1) | 0;
      Atomics.store(this.#control, CONTROL_POSTED, this.#posted);
      if (Atomics.load(this.#control, CONTROL_IDLE) === 1) Atomics.notify(this.#control, CONTROL_POSTED);
    });
  }

  /** Writes are pending on the thread: a write on the calling thread now would overtake them. */
  get busy(): boolean {
    return this.#pending.size > 0;
  }

  /** The buffer is no longer reused: the writer lets go of it too. */
  forget(buffer: SharedArrayBuffer): void {
    const id = this.#bufferIds.get(buffer);
    if (id === undefined) return;
    this.#bufferIds.delete(buffer);
    this.#worker.postMessage({ forget: id } satisfies ForgetRequest);
  }

  async close(): Promise<void> {
    this.#failed ??= new Error('RocksDB writer closed');
    await this.#worker.terminate();
  }

  #fail(error: Error): void {
    this.#failed ??= error;
    for (const waiter of this.#pending.values()) waiter.reject(this.#failed);
    this.#pending.clear();
  }
}

/**
 * One reverse iterator for all the ranges, one seek each: creating an iterator (a view over the
 * memtables and every level) was most of a seek's cost, ~12 us a key through querySync against
 * ~7 us a seek on a shared iterator (200,000 keys, measured with the binding). Synchronous, on
 * the calling thread, like querySync.
 */
function lastInRanges(binding: NxtBinding, db: unknown, ranges: readonly KvSpan[]): (KvEntry | undefined)[] {
  const first = ranges[0];
  if (first === undefined) return [];
  let low = first.gte;
  let high = first.lt;
  for (const { gte, lt } of ranges) {
    if (compareBytes(gte, low) < 0) low = gte;
    if (compareBytes(lt, high) > 0) high = lt;
  }
  // lte, not lt: the binding turns a seek at or past the upper bound into "no entry", and every
  // range's lt is a seek target. No limit or highWaterMarkBytes: the binding counts entries
  // against them across seeks (its count is never reset) and would drop the second row.
  const iterator = binding.iterator_init(db, { ...buffers, reverse: true, keys: true, values: true, gte: asBuffer(low), lte: asBuffer(high) });
  try {
    return ranges.map(({ gte, lt }) => {
      binding.iterator_seek(iterator, lt);
      // The last key at or before lt, and the one before it in case the first is lt itself.
      const { rows } = binding.iterator_nextv_sync(iterator, 2);
      for (let i = 0; i + 1 < rows.length; i += 2) {
        const key = rows[i] as Buffer;
        if (compareBytes(key, lt) >= 0) continue;
        return compareBytes(key, gte) >= 0 ? ([plain(key), plain(rows[i + 1] as Buffer)] as const) : undefined;
      }
      return undefined;
    });
  } finally {
    binding.iterator_close(iterator);
  }
}

export async function openNxteditionKv(dir: string): Promise<Kv> {
  const { RocksLevel } = require('@nxtedition/rocksdb') as NxtModule;
  const db = new RocksLevel(dir, buffers);
  await db.open({ createIfMissing: true, errorIfExists: false, ...OPEN_OPTIONS });
  // Started at the first write that has something to overlap: a caller that awaits each append
  // never pays for the thread.
  let writer: Writer | undefined;
  const binding = loadNxtBinding();
  const dbContext = binding.db_init(db.handle);
  const mainBatch = binding.batch_init();
  const putListBuffers = new PutListBuffers((buffer) => writer?.forget(buffer));
  // The synchronous native calls below do not check that the database is open (querySync and the
  // async getMany do): one after close() read freed memory and crashed the process.
  let closed = false;
  const assertOpen = (): void => {
    if (closed) throw new StorageError(StorageErrorCode.Closed, 'RocksDB closed');
  };
  return {
    binding: 'nxtedition',
    async get(key) {
      assertOpen();
      // Synchronous for the reason getMany is: latest() (a leaf read, as the read API and proofs do)
      // took 152 us with a libuv thread hop here and 54 us without it.
      const [value] = typeof db._getManySync === 'function' ? db._getManySync([key], buffers) : await db.getMany([asBuffer(key)], buffers);
      return value === undefined || value === null ? undefined : plain(value);
    },
    async getMany(keys) {
      assertOpen();
      if (keys.length === 0) return [];
      // Point reads of a batch's ids hit the memtable or block cache: a synchronous read costs
      // less than handing them to libuv's pool and waiting for a thread on a busy machine.
      // The native call takes any Uint8Array key (napi_is_buffer is true for every ArrayBufferView):
      // a Buffer view per key cost 5% of the calling thread once the store outgrew its key cache.
      const values: readonly (Uint8Array | undefined | null)[] =
        typeof db._getManySync === 'function' ? db._getManySync(keys as Uint8Array[], buffers) : await db.getMany(keys.map(asBuffer), buffers);
      const found = new Array<Uint8Array | undefined>(values.length);
      for (let i = 0; i < values.length; i += 1) {
        const value = values[i];
        found[i] = value === undefined || value === null ? undefined : plain(value);
      }
      return found;
    },
    async range(range: KvRange) {
      const options: Record<string, unknown> = { ...buffers, keys: true, values: true, limit: range.limit };
      if (range.gte !== undefined) options['gte'] = asBuffer(range.gte);
      if (range.lt !== undefined) options['lt'] = asBuffer(range.lt);
      if (range.lte !== undefined) options['lte'] = asBuffer(range.lte);
      if (range.reverse === true) options['reverse'] = true;
      const { rows } = db.querySync(options);
      const entries: KvEntry[] = [];
      for (let i = 0; i + 1 < rows.length; i += 2) entries.push([plain(rows[i] as Buffer), plain(rows[i + 1] as Buffer)]);
      return entries;
    },
    async lastInRanges(ranges) {
      assertOpen();
      return lastInRanges(binding, dbContext, ranges);
    },
    batch: () => new PutList(putListBuffers),
    // The writer thread takes writes in order and stops at the first that fails; a write on this
    // thread is done before write() returns, and waits behind the writer's pending ones.
    orderedWrites: true,
    async write(batch, options) {
      assertOpen();
      const list = batch as PutList;
      if (options.overlap === true || writer?.busy === true) {
        writer ??= new Writer(db.handle);
        // Released only when the writer is done with it, failed or not.
        return writer.write(list, options.sync).finally(() => list.release());
      }
      // Nothing to overlap: a hop to the writer thread would only add its wake-up to the latency.
      try {
        writePutList(binding, dbContext, mainBatch, list.bytes.subarray(0, list.used), options.sync);
      } finally {
        list.release();
      }
    },
    async close() {
      closed = true;
      // The store closes only after its writes are done; the thread goes before the database.
      await writer?.close();
      await db.close();
    },
  };
}
