import { mkdirSync } from 'node:fs';
import { Piscina } from 'piscina';
import {
  CompactRange,
  consistencyPlan,
  emptyRoot,
  foldRoot,
  inclusionPlan,
  rehashProof,
  rootPlan,
  type Hasher,
  type NodeId,
} from '@cairn/merkle';
import { decodeLeaf, type LeafEntry } from '@cairn/wire';
import { equalBytes, readU32, readU64, utf8 } from './bytes.js';
import { decideBatch, KeySlot, type Decision, type KeyState, type RecordLocation, type TxStatus, type PreconditionFailure } from './decide.js';
import { StorageError, StorageErrorCode } from './errors.js';
import { hashRecords } from './hash-task.js';
import { checkSeq, prepareBatch, type BatchInput, type PreparedRecord, type PreparedTx } from './input.js';
import { chooseBinding, openKv, type Kv, type KvBatch, type KvBinding, type KvEntry } from './kv.js';
import {
  CHUNK_LEAVES_MAX,
  ChunkView,
  FORMAT_KEY,
  FORMAT_MARKER,
  Family,
  HEAD_KEY,
  corrupt,
  decodeChunk,
  decodeHead,
  decodeSeqHead,
  decodeTx,
  encodeChunk,
  encodeHead,
  encodeSeqHead,
  encodeTx,
  keyPrefix,
  keyVersionKey,
  leafChunkKey,
  readKeyVersionValue,
  seqHeadKey,
  tileKey,
  txKey,
  valueChunkKey,
  type HeadState,
  type TxRecord,
} from './layout.js';
import { resolveLimits, type StorageLimits } from './limits.js';
import { createNodeHasher } from './node-hasher.js';
import { hashTasks, packBatch, PackBuffer, type PackedBatch } from './pack.js';
import { readTileSlot, tileSlot, TileWriter } from './tiles.js';
import { BatchKeys } from './batch-keys.js';
import { KeyCache } from './key-cache.js';
import { keyHash } from './key-hash.js';
import { appendLeafRun, pairHasher, TreeScratch, type PairHasher } from './tree-append.js';

export interface OpenStoreOptions {
  readonly dir: string;
  /** Hashes tree nodes on the calling thread and in proofs; node:crypto by default. */
  readonly hasher?: Hasher;
  readonly limits?: Partial<StorageLimits>;
  /** A pool running hashWorkerUrl, shared with other stores; false hashes every batch inline. */
  readonly pool?: Piscina | false;
  /** Overrides CAIRN_ROCKSDB_BINDING. */
  readonly binding?: KvBinding;
}

export interface Head {
  readonly size: number;
  readonly root: Uint8Array;
  /** Stream sequence of the last applied batch (0 before the first). */
  readonly seq: number;
}

export interface TxResult {
  readonly id: string;
  readonly status: TxStatus;
  /** Committed: the new locations; duplicate: the original's; otherwise empty. */
  readonly records: readonly RecordLocation[];
  readonly failure?: PreconditionFailure;
}

export type AppendResult =
  | { readonly skipped: false; readonly head: Head; readonly txs: readonly TxResult[] }
  | { readonly skipped: true; readonly head: Head };

/** Cumulative time of the append phases on the calling thread, for benchmarks and telemetry. */
export interface AppendMetrics {
  appends: number;
  records: number;
  /** Validation, tx and key lookups, preconditions. */
  decideMs: number;
  /** Laying out leaves and values, and the index puts. */
  packMs: number;
  /** Leaf hashing: inline, or waiting for the pool after the index puts were done. */
  hashMs: number;
  /** Tree node hashing (compact range) and tile encoding. */
  treeMs: number;
  /** The synced RocksDB write. */
  writeMs: number;
}

export interface StoredLeaf {
  readonly index: number;
  readonly entry: LeafEntry;
  /** The value bytes, or undefined once erased (the entry still holds its hash). */
  readonly value: Uint8Array | undefined;
  readonly erased: boolean;
}

export interface StoredTx {
  readonly id: string;
  readonly contentHash: Uint8Array;
  readonly meta: Uint8Array;
  readonly leaves: readonly StoredLeaf[];
}

/** The module piscina loads for hashing; pass it as `filename` (with name 'hashRecords') to share a pool. */
export const hashWorkerUrl = new URL('./hash-worker.js', import.meta.url).href;
export const HASH_WORKER_FUNCTION = 'hashRecords';

/** A batch is cut into this many hash tasks per pool thread, so tree work overlaps hashing. */
const SLICES_PER_THREAD = 4;

interface HashSlice {
  readonly begin: number;
  readonly end: number;
  readonly done: Promise<unknown>;
  /** Set for the slice the calling thread hashes itself, once its other work is queued. */
  readonly inline?: () => unknown;
}

/** Key-index entries read per page when the cache is warmed at open. */
const WARM_PAGE_ENTRIES = 10_000;

/**
 * A batch whose synced write is issued but not yet done: what the next batch's deciding needs
 * from it (its keys' states and its transactions), which RocksDB and the key cache do not hold yet.
 */
interface InFlight {
  readonly slots: BatchKeys;
  readonly txs: ReadonlyMap<string, TxRecord>;
}

/** What the serialized part of an append hands back: the rest waits for the synced write. */
interface Staged<T> {
  readonly done: Promise<T>;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  return Store.open(options);
}

/** For tests only (not exported by the package): a store over a wrapped key-value store. */
export async function openStoreOnWrappedKv(options: OpenStoreOptions, wrapKv: (kv: Kv) => Kv): Promise<Store> {
  return Store.open(options, wrapKv);
}

export class Store {
  readonly limits: StorageLimits;
  readonly #kv: Kv;
  readonly #hasher: Hasher;
  /** The pool hashing big batches; the store's own is created at the first batch that needs it. */
  #pool: Piscina | undefined;
  readonly #ownsPool: boolean;
  readonly #keys: KeyCache;
  #tiles: TileWriter;
  /** The tree after the last decided batch (its write may still be in flight). */
  #range: CompactRange;
  /** The head after the last decided batch: what the next batch builds on. */
  #next: HeadState;
  /** The head after the last batch whose synced write is done: what readers see. */
  #state: HeadState;
  #root: Uint8Array;
  /** Decided batches whose writes are not done yet, oldest first (at most append_queue_max). */
  readonly #inflight: InFlight[] = [];
  /** End of the serialized work (deciding, packing, hashing of each write). */
  #tail: Promise<unknown> = Promise.resolve();
  /** End of the chain of writes: each write starts only after the one before it is synced. */
  #writes: Promise<void> = Promise.resolve();
  #queued = 0;
  /**
   * The sequence of an append that failed before its write, while no append has reached it since:
   * appends above it are aborted, because committing one would skip the failed one for good.
   */
  #failedSeq: number | undefined;
  #closed: StorageError | undefined;
  #closing: Promise<void> | undefined;
  readonly #sharedPack = new PackBuffer(true);
  readonly #localPack = new PackBuffer(false);
  readonly #treeScratch = new TreeScratch();
  readonly #hashPairs: PairHasher;
  readonly #metrics: AppendMetrics = { appends: 0, records: 0, decideMs: 0, packMs: 0, hashMs: 0, treeMs: 0, writeMs: 0 };

  private constructor(init: {
    kv: Kv;
    limits: StorageLimits;
    hasher: Hasher;
    pool: Piscina | undefined;
    ownsPool: boolean;
    keys: KeyCache;
    tiles: TileWriter;
    range: CompactRange;
    state: HeadState;
  }) {
    this.#kv = init.kv;
    this.limits = init.limits;
    this.#hasher = init.hasher;
    this.#hashPairs = pairHasher(init.hasher);
    this.#pool = init.pool;
    this.#ownsPool = init.ownsPool;
    this.#keys = init.keys;
    this.#tiles = init.tiles;
    this.#range = init.range;
    this.#state = init.state;
    this.#next = init.state;
    this.#root = init.range.root();
  }

  /** `wrapKv` is a seam for tests that need a failing disk (openStoreOnWrappedKv). */
  static async open(options: OpenStoreOptions, wrapKv: (kv: Kv) => Kv = (kv) => kv): Promise<Store> {
    const limits = resolveLimits(options.limits);
    const binding = options.binding ?? chooseBinding();
    const hasher = options.hasher ?? createNodeHasher();
    mkdirSync(options.dir, { recursive: true });
    const kv = wrapKv(await openKv(options.dir, binding));
    try {
      const state = await loadHead(kv);
      let range: CompactRange;
      try {
        range = CompactRange.fromState(state.size, state.hashes, hasher);
      } catch (cause) {
        throw corrupt('head compact range', cause);
      }
      const tiles = await TileWriter.load(state.size, (key) => kv.get(key));
      const keys = new KeyCache(limits.key_cache_entries_max);
      await warmKeys(kv, keys, state.size);
      const ownsPool = options.pool === undefined;
      // A pool of our own starts with the first batch above inline_records_max: stores that never
      // see one (most, with the native addon) run no threads, and a pool is never torn down while
      // its workers are still loading their module (Node 20 aborts the process on a require(esm)
      // cut short by terminate(), seen in the tests when a store was opened and closed at once).
      const pool = ownsPool || options.pool === false ? undefined : options.pool;
      return new Store({ kv, limits, hasher, pool, ownsPool, keys, tiles, range, state });
    } catch (error) {
      await kv.close().catch(() => undefined);
      throw error;
    }
  }

  get binding(): KvBinding {
    return this.#kv.binding;
  }

  metrics(): AppendMetrics {
    return { ...this.#metrics };
  }

  head(): Head {
    return { size: this.#state.size, root: this.#root.slice(), seq: this.#state.seq };
  }

  // ---- writes ----------------------------------------------------------------------------------

  /**
   * Commits a batch atomically (one synced RocksDB write), or skips it if seq is not new. Resolves
   * only once this batch's write is synced. Appends issued before the previous one resolved are
   * decided while its write is in flight (pipelining); writes still happen one at a time, in order.
   */
  append(batch: BatchInput): Promise<AppendResult> {
    return this.#serializeStaged(() => this.#append(batch));
  }

  /**
   * GDPR erasure: drops the stored value bytes of one version. The leaf keeps the value's hash,
   * so every root and proof stays valid; reads report the value as erased.
   */
  eraseValue(key: string, version: number): Promise<{ leafIndex: number; alreadyErased: boolean }> {
    return this.#serialize(() => this.#erase(key, version));
  }

  /** Waits for queued writes, then releases RocksDB and the pool it created. Idempotent. */
  async close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closing = (async () => {
      await this.#tail;
      await this.#writes.catch(() => undefined);
      this.#closed ??= new StorageError(StorageErrorCode.Closed, 'store closed by the caller');
      if (this.#ownsPool) await this.#pool?.destroy();
      await this.#kv.close();
    })();
    return this.#closing;
  }

  #serialize<T>(work: () => Promise<T>): Promise<T> {
    return this.#serializeStaged(async () => ({ done: Promise.resolve(await work()) }));
  }

  /**
   * Runs `work` after the work queued before it; the next work may start once this one's staged
   * part is done, while the caller waits for `done`. Writes queued or in flight count against
   * append_queue_max until done.
   */
  #serializeStaged<T>(work: () => Promise<Staged<T>>): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    if (this.#closing !== undefined) {
      return Promise.reject(new StorageError(StorageErrorCode.Closed, 'store is closing'));
    }
    if (this.#queued >= this.limits.append_queue_max) {
      return Promise.reject(new StorageError(StorageErrorCode.Busy, `${this.#queued} writes queued (append_queue_max)`));
    }
    this.#queued += 1;
    const staged = this.#tail.then(() => {
      if (this.#closed !== undefined) throw this.#closed;
      return work();
    });
    this.#tail = staged.catch(() => undefined);
    return staged
      .then((s) => s.done)
      .finally(() => {
        this.#queued -= 1;
      });
  }

  /** Waits until every issued write is done; rejects if one failed (the store is then closed). */
  async #drain(): Promise<void> {
    await this.#writes;
  }

  async #append(batch: BatchInput): Promise<Staged<AppendResult>> {
    const seq = checkSeq(batch?.seq);
    if (seq <= this.#next.seq) {
      // The head reported must hold the batch this one repeats: wait for writes in flight.
      await this.#drain();
      return { done: Promise.resolve({ skipped: true, head: this.head() }) };
    }
    if (this.#failedSeq !== undefined && this.#next.seq >= this.#failedSeq) this.#failedSeq = undefined;
    if (this.#failedSeq !== undefined && seq > this.#failedSeq) {
      throw new StorageError(StorageErrorCode.Aborted, `append ${seq} not decided: append ${this.#failedSeq} failed and no append has reached it since`);
    }
    try {
      return await this.#stage(batch, seq);
    } catch (error) {
      this.#failedSeq = Math.min(this.#failedSeq ?? seq, seq);
      throw error;
    }
  }

  /** Decides, packs and hashes one batch, and issues its write (`done` resolves once it is synced). */
  async #stage(batch: BatchInput, seq: number): Promise<Staged<AppendResult>> {
    const metrics = this.#metrics;
    let mark = performance.now();
    const lap = (): number => {
      const now = performance.now();
      const elapsed = now - mark;
      mark = now;
      return elapsed;
    };
    const txs = prepareBatch(batch, this.limits);
    const stored = await this.#storedTxs(txs);
    const keys = await this.#keyStates(txs);
    const firstLeaf = this.#next.size;
    const decided = decideBatch(txs, firstLeaf, stored);
    let newKeys = 0;
    keys.forEach((slot) => {
      if (slot.initialVersion === 0 && slot.version !== 0) newKeys += 1;
    });
    if (this.#inflight.length > 0 && decided.decisions.some((d) => d.original !== undefined)) {
      // An original may sit in a batch whose write is in flight: its leaves are read from disk.
      await this.#drain();
    }
    await this.#resolveOriginals(decided.decisions);
    metrics.decideMs += lap();

    const write = this.#kv.batch();
    const pack = this.#usesPool(decided.accepted.length) ? this.#sharedPack : this.#localPack;
    const packed = packBatch(decided.accepted, decided.committed, firstLeaf, pack);
    const slices = this.#startHashing(packed);
    // While the pool hashes, the index puts (which need no hash) go into the batch.
    putKeyIndex(write, decided.accepted);
    for (const { tx, firstLeaf: first } of decided.committed) {
      write.put(txKey(tx.idBytes), encodeTx({ contentHash: tx.contentHash, firstLeaf: first, leafCount: tx.records.length, meta: tx.meta }));
    }
    metrics.packMs += lap();
    for (const slice of slices) slice.inline?.();
    metrics.hashMs += lap();
    let range: CompactRange;
    try {
      range = await this.#appendLeaves(packed, slices, write, metrics, lap);
    } catch (cause) {
      // The open tiles may hold nodes of this batch that will never be written: stop.
      throw this.#failStop('hashing failed', cause);
    }
    const root = range.root();
    const state: HeadState = {
      size: range.size,
      seq,
      distinctKeys: this.#next.distinctKeys + newKeys,
      hashes: range.hashes.map((hash) => hash.slice()),
    };
    write.put(HEAD_KEY, encodeHead(state));
    write.put(seqHeadKey(seq), encodeSeqHead(state.size, root));
    this.#range = CompactRange.fromState(state.size, state.hashes, this.#hasher);
    this.#next = state;
    const txsWritten = new Map<string, TxRecord>();
    for (const { tx, firstLeaf: first } of decided.committed) {
      txsWritten.set(tx.id, { contentHash: tx.contentHash, firstLeaf: first, leafCount: tx.records.length, meta: tx.meta });
    }
    const inflight: InFlight = { slots: keys, txs: txsWritten };
    this.#inflight.push(inflight);
    // From here the batch is committed unless its write fails (and then the store stops), so
    // the cache takes its keys now: the next batch decides against the cache alone, without
    // looking through the batches in flight. Readers filter what is not durable (#latestState).
    const cache = this.#keys;
    keys.forEach((slot) => {
      if (slot.version === slot.initialVersion) return;
      if (slot.cacheGeneration < 0) cache.setState(slot.key, slot.version, slot.leaf);
      else cache.setFound(slot.key, slot.hash, slot.cacheSlot, slot.cacheGeneration, slot.version, slot.leaf);
    });
    metrics.treeMs += lap();
    const issued = performance.now();
    const written = this.#issue(write);
    const done = written.then(() => {
      // Writes finish in issue order, so heads and the cache advance in log order.
      metrics.writeMs += performance.now() - issued;
      if (this.#inflight[0] !== inflight) throw this.#failStop('writes finished out of order', undefined);
      this.#inflight.shift();
      this.#state = state;
      this.#root = root;
      metrics.appends += 1;
      metrics.records += packed.count;
      return {
        skipped: false as const,
        head: this.head(),
        txs: decided.decisions.map((d) => txResult(d)),
      };
    });
    metrics.decideMs += lap();
    return { done };
  }

  /**
   * Starts `write` after every write issued before it; a failed write fails all after it. A kv
   * with ordered writes gets it at once (and may sync it with the writes before it, as a group);
   * otherwise it starts once the one before is synced.
   */
  #issue(write: KvBatch): Promise<void> {
    // Another append is deciding or waiting to: the write goes where it does not hold it up.
    const overlap = this.#queued > 1;
    if (this.#kv.orderedWrites) {
      if (this.#closed !== undefined) return Promise.reject(this.#closed);
      const issued = this.#commit(write, overlap);
      this.#writes = issued;
      return issued;
    }
    const written = this.#writes.then(() => {
      if (this.#closed !== undefined) throw this.#closed;
      return this.#commit(write, overlap || this.#queued > 1);
    });
    this.#writes = written;
    return written;
  }

  /** Tree nodes and leaf/value chunks into the write batch; returns the range after the batch. */
  async #appendLeaves(
    packed: PackedBatch,
    slices: readonly HashSlice[],
    write: KvBatch,
    metrics: AppendMetrics,
    lap: () => number,
  ): Promise<CompactRange> {
    metrics.treeMs += lap();
    // All at once: awaited one by one, a failed later slice would reject with nobody listening yet.
    await Promise.all(slices.map((slice) => slice.done));
    metrics.hashMs += lap();
    const hashes = new Uint8Array(packed.shared, packed.leafHashes, 32 * packed.count);
    const range = appendLeafRun(this.#range, hashes, packed.count, this.#tiles, this.#hashPairs, this.#hasher, this.#treeScratch);
    for (const chunk of packed.chunks) {
      write.put(leafChunkKey(chunk.first), chunk.leaves);
      write.put(valueChunkKey(chunk.first), chunk.values);
    }
    for (const tile of this.#tiles.flush()) write.put(tile.key, tile.value);
    return range;
  }

  #failStop(message: string, cause: unknown): StorageError {
    this.#closed = new StorageError(StorageErrorCode.Closed, `${message}; reopen the store`, { cause });
    return this.#closed;
  }

  async #commit(write: KvBatch, overlap = false): Promise<void> {
    try {
      await this.#kv.write(write, { sync: true, overlap });
    } catch (cause) {
      // Memory (tiles, cache) may now be ahead of the disk: stop; reopening reloads the truth.
      throw this.#failStop('a write failed', cause);
    }
  }

  #usesPool(records: number): boolean {
    return (this.#pool !== undefined || this.#ownsPool) && records > this.limits.inline_records_max;
  }

  /**
   * Starts hashing the batch: inline for small batches or without a pool, else in slices sized
   * to keep every thread busy and to let the tree work here overlap the pool's.
   */
  #startHashing(packed: PackedBatch): HashSlice[] {
    if (!this.#usesPool(packed.count)) {
      if (packed.count > 0) hashRecords({ ...packed, begin: 0, end: packed.count });
      return [{ begin: 0, end: packed.count, done: Promise.resolve() }];
    }
    this.#pool ??= createHashPool(this.limits);
    const pool = this.#pool;
    // The calling thread hashes the tail itself after its index puts, so it does not sit idle
    // waiting for the pool (main_hash_share_pct, measured in the design doc).
    const mainCount = Math.floor((packed.count * this.limits.main_hash_share_pct) / 100);
    const poolCount = packed.count - mainCount;
    // At most pool_queue_max tasks: more would be refused by the pool (TaskQueueAtLimit). For a
    // batch above pool_queue_max x task_records_max records that bound wins over task_records_max.
    const perTask = Math.max(
      Math.ceil(poolCount / this.limits.pool_queue_max),
      Math.min(this.limits.task_records_max, Math.ceil(poolCount / (SLICES_PER_THREAD * this.limits.pool_threads_max))),
    );
    const slices: HashSlice[] = hashTasks(packed, perTask, poolCount).map((task) => ({
      begin: task.begin,
      end: task.end,
      done: pool.run(task, { name: HASH_WORKER_FUNCTION }) as Promise<unknown>,
    }));
    if (mainCount > 0) {
      slices.push({
        begin: poolCount,
        end: packed.count,
        done: Promise.resolve(),
        inline: () => hashRecords({ ...packed, begin: poolCount, end: packed.count }),
      });
    }
    return slices;
  }


  async #storedTxs(txs: readonly PreparedTx[]): Promise<Map<string, TxRecord>> {
    const unique = new Map<string, PreparedTx>();
    const stored = new Map<string, TxRecord>();
    for (const tx of txs) {
      if (unique.has(tx.id) || stored.has(tx.id)) continue;
      const pending = this.#pendingTx(tx.id);
      if (pending === undefined) unique.set(tx.id, tx);
      else stored.set(tx.id, pending);
    }
    const list = [...unique.values()];
    const values = list.length === 0 ? [] : await this.#kv.getMany(list.map((tx) => txKey(tx.idBytes)));
    values.forEach((value, i) => {
      if (value !== undefined) stored.set((list[i] as PreparedTx).id, decodeTx(value));
    });
    return stored;
  }

  /** A transaction committed by a batch whose write is in flight, newest batch first. */
  #pendingTx(id: string): TxRecord | undefined {
    for (let i = this.#inflight.length - 1; i >= 0; i -= 1) {
      const tx = (this.#inflight[i] as InFlight).txs.get(id);
      if (tx !== undefined) return tx;
    }
    return undefined;
  }

  /**
   * A slot per key the batch touches: from a batch in flight that touched the key, else the
   * cache, else one seek per key (cache incomplete).
   */
  async #keyStates(txs: readonly PreparedTx[]): Promise<BatchKeys> {
    let records = 0;
    for (const tx of txs) records += tx.records.length;
    const slots = new BatchKeys(records);
    const misses: PreparedRecord[] = [];
    const inflight = this.#inflight;
    const cache = this.#keys;
    for (const tx of txs) {
      for (const record of tx.records) {
        const { key, hash } = record;
        let slot = slots.get(key, hash);
        if (slot === undefined) {
          const at = cache.lookup(key, hash);
          if (at >= 0 || cache.complete) {
            slot = at >= 0 ? new KeySlot(key, hash, cache.versionAt(at), cache.leafAt(at)) : new KeySlot(key, hash, 0, -1);
            slot.cacheSlot = at;
            slot.cacheGeneration = cache.generation;
          } else {
            // Not cached (evicted, or never loaded): a batch in flight may hold it, else RocksDB.
            let pending: KeySlot | undefined;
            for (let i = inflight.length - 1; i >= 0 && pending === undefined; i -= 1) pending = (inflight[i] as InFlight).slots.get(key, hash);
            if (pending === undefined) misses.push(record);
            slot = new KeySlot(key, hash, pending?.version ?? 0, pending?.leaf ?? -1);
          }
          slots.add(slot);
        }
        record.slot = slot;
      }
    }
    await this.#loadMisses(misses);
    return slots;
  }

  /**
   * Latest stored states of keys the cache does not hold. Every stored key has a version 1, so
   * one point read per key (answered by RocksDB's filters for new keys) sorts the new keys out
   * before any seek: a seek costs ~7-20 us a key (Kv.lastInRanges), a point read of an absent key
   * ~0.8 us (measured in memtable with the nxtedition binding), a store whose keys outgrow
   * the cache makes every new key a miss, and new keys are most writes (orders, payments). The
   * store never deletes key-index entries (erasure rewrites value chunks only), so a key without a
   * version 1 has none; a directory altered behind the store's back is caught by clients' proofs,
   * not here.
   */
  async #loadMisses(misses: readonly PreparedRecord[]): Promise<void> {
    if (misses.length === 0) return;
    const firsts = await this.#kv.getMany(misses.map((record) => keyVersionKey(record.prefix, 1)));
    const stored = misses.filter((_, i) => firsts[i] !== undefined);
    const latest = await this.#kv.lastInRanges(stored.map((record) => ({ gte: record.prefix, lt: keyRangeEnd(record.prefix) })));
    stored.forEach((record, i) => {
      const entry = latest[i];
      if (entry === undefined) throw corrupt(`version 1 of ${record.key} found but no latest version`);
      const state = keyStateOf(entry, record.prefix.length);
      const slot = record.slot as KeySlot;
      slot.initialVersion = slot.version = state.version;
      slot.initialLeaf = slot.leaf = state.leafIndex;
    });
  }

  async #latestStored(prefix: Uint8Array): Promise<KeyState | undefined> {
    const [entry] = await this.#kv.range({ gte: prefix, lt: keyRangeEnd(prefix), reverse: true, limit: 1 });
    return entry === undefined ? undefined : keyStateOf(entry, prefix.length);
  }

  async #resolveOriginals(decisions: Decision[]): Promise<void> {
    for (const decision of decisions) {
      if (decision.original === undefined) continue;
      const leaves = await this.#readLeaves(decision.original.firstLeaf, decision.original.leafCount);
      decision.records = leaves.map((leaf) => ({ key: leaf.entry.key, version: leaf.entry.version, leafIndex: leaf.index }));
    }
  }

  async #erase(key: string, version: number): Promise<{ leafIndex: number; alreadyErased: boolean }> {
    // Reads below must see every batch decided before this call, and the write follows theirs.
    await this.#drain();
    const prefix = keyPrefix(keyBytesOf(key));
    if (!Number.isSafeInteger(version) || version < 1) throw invalidInput(`version must be a positive integer`);
    const indexBytes = await this.#kv.get(keyVersionKey(prefix, version));
    if (indexBytes === undefined) throw new StorageError(StorageErrorCode.NotFound, `no version ${version} of ${key}`);
    const leafIndex = readKeyVersionValue(indexBytes);
    const { first } = await this.#leafChunk(leafIndex);
    const valueBytes = await this.#kv.get(valueChunkKey(first));
    if (valueBytes === undefined) throw corrupt(`value chunk ${first} missing`);
    const values = decodeChunk(valueBytes, 'value');
    if (values[leafIndex - first] === undefined) return { leafIndex, alreadyErased: true };
    values[leafIndex - first] = undefined;
    const write = this.#kv.batch();
    write.put(valueChunkKey(first), encodeChunk(values));
    await this.#issue(write);
    return { leafIndex, alreadyErased: false };
  }

  // ---- reads -----------------------------------------------------------------------------------

  /** The head right after the batch with stream sequence `seq`, if such a batch was applied. */
  async headAt(seq: number): Promise<Head | undefined> {
    this.#assertOpen();
    checkSeq(seq);
    if (seq > this.#state.seq) return undefined;
    const bytes = await this.#kv.get(seqHeadKey(seq));
    if (bytes === undefined) return undefined;
    const { size, root } = decodeSeqHead(bytes);
    return { size, root, seq };
  }

  async rootAt(size: number): Promise<Uint8Array> {
    this.#assertSize(size, 0);
    if (size === this.#state.size) return this.#root.slice();
    if (size === 0) return emptyRoot(this.#hasher);
    return foldRoot(await this.#nodeHashes(rootPlan(size)), this.#hasher);
  }

  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    this.#assertSize(size, 1);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new StorageError(StorageErrorCode.OutOfRange, `leaf index ${index} is not below tree size ${size}`);
    }
    const plan = inclusionPlan(index, size);
    return rehashProof(plan, await this.#nodeHashes(plan.nodes), this.#hasher);
  }

  async consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    this.#assertSize(size2, 1);
    if (!Number.isSafeInteger(size1) || size1 < 1 || size1 > size2) {
      throw new StorageError(StorageErrorCode.OutOfRange, `size1 ${size1} must be in [1, ${size2}]`);
    }
    const plan = consistencyPlan(size1, size2);
    return rehashProof(plan, await this.#nodeHashes(plan.nodes), this.#hasher);
  }

  async leaf(index: number): Promise<StoredLeaf> {
    this.#assertOpen();
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.#state.size) {
      throw new StorageError(StorageErrorCode.OutOfRange, `leaf ${index} is not below size ${this.#state.size}`);
    }
    const [leaf] = await this.#readLeaves(index, 1);
    return leaf as StoredLeaf;
  }

  /** Leaves [start, start + count) in order, each chunk read once (a leaf at a time reads its chunk per leaf). */
  async leaves(start: number, count: number): Promise<StoredLeaf[]> {
    this.#assertOpen();
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > this.#state.size) {
      throw new StorageError(StorageErrorCode.OutOfRange, `leaves [${start}, ${start + count}) are not below size ${this.#state.size}`);
    }
    return this.#readLeaves(start, count);
  }

  async latest(key: string): Promise<StoredLeaf | undefined> {
    const state = await this.#latestState(key);
    return state === undefined ? undefined : this.leaf(state.leafIndex);
  }

  /** The version of `key` that the tree of `treeSize` leaves holds, if any. */
  async at(key: string, treeSize: number): Promise<StoredLeaf | undefined> {
    this.#assertSize(treeSize, 0);
    const latest = await this.#latestState(key);
    if (latest === undefined) return undefined;
    const state = await this.#stateBelow(key, latest, treeSize);
    return state === undefined ? undefined : this.leaf(state.leafIndex);
  }

  /**
   * The last version of `key` whose leaf is below `size`, given its latest version: leaf indexes
   * grow with versions, so a binary search over version numbers (at most 53 point reads).
   */
  async #stateBelow(key: string, latest: KeyState, size: number): Promise<KeyState | undefined> {
    if (latest.leafIndex < size) return latest;
    const prefix = keyPrefix(keyBytesOf(key));
    let low = 1;
    let high = latest.version - 1;
    let found: KeyState | undefined;
    while (low <= high) {
      const middle = Math.floor((low + high) / 2);
      const bytes = await this.#kv.get(keyVersionKey(prefix, middle));
      if (bytes === undefined) throw corrupt(`version ${middle} of ${key} missing`);
      const leafIndex = readKeyVersionValue(bytes);
      if (leafIndex < size) {
        found = { version: middle, leafIndex };
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** Versions of `key` from `fromVersion`, oldest first, at most `limit` (history_versions_max). */
  async history(key: string, options: { fromVersion?: number; limit?: number } = {}): Promise<StoredLeaf[]> {
    this.#assertOpen();
    const limit = options.limit ?? this.limits.history_versions_max;
    const from = options.fromVersion ?? 1;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > this.limits.history_versions_max) {
      throw invalidInput(`history limit must be in [1, ${this.limits.history_versions_max}]`);
    }
    if (!Number.isSafeInteger(from) || from < 1) throw invalidInput('fromVersion must be a positive integer');
    const prefix = keyPrefix(keyBytesOf(key));
    const entries = await this.#kv.range({ gte: keyVersionKey(prefix, from), lt: keyRangeEnd(prefix), limit });
    const indexes: number[] = [];
    for (const [, value] of entries) {
      const index = readKeyVersionValue(value);
      // A reader may race a commit that is on disk but not yet in the head: stop at the head.
      if (index >= this.#state.size) break;
      indexes.push(index);
    }
    return this.#readLeavesAt(indexes);
  }

  /**
   * Leaves at ascending indexes, each chunk read and decoded once for all the indexes it holds:
   * a key's versions often share chunks, and reading each version on its own decoded two
   * 256-entry chunks per version (10,000 versions of one key took 1.5 s).
   */
  async #readLeavesAt(indexes: readonly number[]): Promise<StoredLeaf[]> {
    const leaves: StoredLeaf[] = [];
    let chunk: LoadedChunk | undefined;
    for (const index of indexes) {
      if (chunk === undefined || index < chunk.first || index >= chunk.first + chunk.leaves.count) chunk = await this.#loadChunk(index);
      leaves.push(storedLeaf(chunk, index));
    }
    return leaves;
  }

  /** The leaf chunk holding leaf `index`, with its values. */
  async #loadChunk(index: number): Promise<LoadedChunk> {
    const { first, leaves } = await this.#leafChunk(index);
    const valueBytes = await this.#kv.get(valueChunkKey(first));
    if (valueBytes === undefined) throw corrupt(`value chunk ${first} missing`);
    const values = new ChunkView(valueBytes, 'value');
    if (values.count !== leaves.count) throw corrupt(`chunk ${first}: leaf and value counts differ`);
    return { first, leaves, values };
  }

  async transaction(id: string): Promise<StoredTx | undefined> {
    this.#assertOpen();
    const idBytes = stringBytesOf(id, 'transaction id');
    const bytes = await this.#kv.get(txKey(idBytes));
    if (bytes === undefined) return undefined;
    const tx = decodeTx(bytes);
    if (tx.firstLeaf + tx.leafCount > this.#state.size) return undefined;
    const leaves = await this.#readLeaves(tx.firstLeaf, tx.leafCount);
    return { id, contentHash: tx.contentHash, meta: tx.meta, leaves };
  }

  /**
   * The meta bytes of transaction `id`, under the same rule as transaction() (undefined until the
   * head holds all of it) but without reading its leaves: a proven read needs only the meta, and
   * the leaves of a large transaction cost a chunk read each.
   */
  async transactionMeta(id: string): Promise<Uint8Array | undefined> {
    this.#assertOpen();
    const bytes = await this.#kv.get(txKey(stringBytesOf(id, 'transaction id')));
    if (bytes === undefined) return undefined;
    const tx = decodeTx(bytes);
    return tx.firstLeaf + tx.leafCount > this.#state.size ? undefined : tx.meta;
  }

  async #latestState(key: string): Promise<KeyState | undefined> {
    this.#assertOpen();
    const keyBytes = keyBytesOf(key);
    const cached = this.#keys.get(key);
    if (cached !== undefined && cached.leafIndex < this.#state.size) return cached;
    if (cached !== undefined) {
      // Decided but not durable yet: the durable state is the one the oldest batch in flight that
      // wrote the key started from.
      const hash = keyHash(key);
      for (const batch of this.#inflight) {
        const slot = batch.slots.get(key, hash);
        if (slot !== undefined && slot.version !== slot.initialVersion) {
          return slot.initialVersion === 0 ? undefined : { version: slot.initialVersion, leafIndex: slot.initialLeaf };
        }
      }
      throw corrupt(`key cache holds version ${cached.version} of ${key} beyond the head and no batch in flight wrote it`);
    }
    if (this.#keys.complete) return undefined;
    const stored = await this.#latestStored(keyPrefix(keyBytes));
    // A write the binding finished but this store has not yet taken as its head must stay unseen.
    return stored === undefined ? undefined : this.#stateBelow(key, stored, this.#state.size);
  }

  /** Leaves [first, first + count): one seek per chunk, a chunk never spans a 256-leaf block. */
  async #readLeaves(first: number, count: number): Promise<StoredLeaf[]> {
    return this.#readLeavesAt(Array.from({ length: count }, (_, i) => first + i));
  }

  async #leafChunk(index: number): Promise<{ first: number; leaves: ChunkView }> {
    const blockStart = index - (index % CHUNK_LEAVES_MAX);
    const [entry] = await this.#kv.range({
      gte: leafChunkKey(blockStart),
      lte: leafChunkKey(index),
      reverse: true,
      limit: 1,
    });
    if (entry === undefined) throw corrupt(`no leaf chunk holds leaf ${index}`);
    const first = readU64(entry[0], 1);
    const leaves = new ChunkView(entry[1], 'leaf');
    if (index - first >= leaves.count) throw corrupt(`leaf chunk ${first} does not reach leaf ${index}`);
    return { first, leaves };
  }

  /** Hashes of perfect subtrees: one getMany over the distinct tiles holding them. */
  async #nodeHashes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    const slots = ids.map(tileSlot);
    const tileNames: string[] = [];
    const tileKeys: Uint8Array[] = [];
    const position = new Map<string, number>();
    for (const slot of slots) {
      const name = `${slot.row}/${slot.tile}`;
      if (position.has(name)) continue;
      position.set(name, tileKeys.length);
      tileNames.push(name);
      tileKeys.push(tileKey(slot.row, slot.tile));
    }
    const tiles = await this.#kv.getMany(tileKeys);
    return slots.map((slot, i) => {
      const bytes = tiles[position.get(`${slot.row}/${slot.tile}`) as number];
      if (bytes === undefined) throw corrupt(`tile (${slot.row}, ${slot.tile}) missing`);
      const hash = readTileSlot(bytes, slot);
      const id = ids[i] as NodeId;
      if (hash === undefined) throw corrupt(`node (${id.level}, ${id.index}) missing from its tile`);
      return hash;
    });
  }

  #assertOpen(): void {
    if (this.#closed !== undefined) throw this.#closed;
  }

  #assertSize(size: number, min: number): void {
    this.#assertOpen();
    if (!Number.isSafeInteger(size) || size < min || size > this.#state.size) {
      throw new StorageError(StorageErrorCode.OutOfRange, `tree size ${size} is not in [${min}, ${this.#state.size}]`);
    }
  }
}

/** A leaf chunk and its value chunk, decoded. */
interface LoadedChunk {
  readonly first: number;
  readonly leaves: ChunkView;
  readonly values: ChunkView;
}

function storedLeaf(chunk: LoadedChunk, index: number): StoredLeaf {
  const bytes = chunk.leaves.entry(index - chunk.first);
  if (bytes === undefined) throw corrupt(`leaf ${index} marked erased`);
  let entry: LeafEntry;
  try {
    entry = decodeLeaf(bytes);
  } catch (cause) {
    throw corrupt(`leaf ${index}`, cause);
  }
  const value = chunk.values.entry(index - chunk.first);
  return { index, entry, value: value?.slice(), erased: value === undefined };
}

function txResult(decision: Decision): TxResult {
  const result: TxResult = { id: decision.tx.id, status: decision.status, records: decision.records };
  return decision.failure === undefined ? result : { ...result, failure: decision.failure };
}

async function loadHead(kv: Kv): Promise<HeadState> {
  const format = await kv.get(FORMAT_KEY);
  if (format === undefined) {
    const empty: HeadState = { size: 0, seq: 0, distinctKeys: 0, hashes: [] };
    const write = kv.batch();
    write.put(FORMAT_KEY, FORMAT_MARKER);
    write.put(HEAD_KEY, encodeHead(empty));
    await kv.write(write, { sync: true });
    return empty;
  }
  if (!equalBytes(format, FORMAT_MARKER)) {
    throw new StorageError(StorageErrorCode.FormatUnknown, `directory format ${new TextDecoder().decode(format)}`);
  }
  const head = await kv.get(HEAD_KEY);
  if (head === undefined) throw corrupt('head missing');
  return decodeHead(head);
}

/**
 * If every key version fits in the cache, load the latest version of every key so the cache is
 * complete: a miss then proves the key absent and appends never seek for new keys.
 */
async function warmKeys(kv: Kv, keys: KeyCache, size: number): Promise<void> {
  if (size === 0) {
    keys.markComplete();
    return;
  }
  if (size > keys.capacity) return;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let gte = Uint8Array.of(Family.Key);
  const lt = Uint8Array.of(Family.Key + 1);
  for (let page = 0; page <= Math.ceil(size / WARM_PAGE_ENTRIES); page += 1) {
    const entries = await kv.range({ gte, lt, limit: WARM_PAGE_ENTRIES });
    for (const [key, value] of entries) {
      const length = readU32(key, 1);
      const name = decoder.decode(key.subarray(5, 5 + length));
      keys.set(name, { version: readU64(key, 5 + length), leafIndex: readKeyVersionValue(value) });
    }
    const last = entries[entries.length - 1];
    if (entries.length < WARM_PAGE_ENTRIES || last === undefined) {
      keys.markComplete();
      return;
    }
    gte = new Uint8Array(last[0].length + 1);
    gte.set(last[0]);
  }
}

export function createHashPool(limits: StorageLimits): Piscina {
  return new Piscina({
    filename: hashWorkerUrl,
    name: HASH_WORKER_FUNCTION,
    minThreads: limits.pool_threads_max,
    maxThreads: limits.pool_threads_max,
    maxQueue: limits.pool_queue_max,
    // A worker gets a batch's slices all at once and runs them back to back, instead of waiting
    // for the main thread to hand it the next one: on a busy machine each hand-off waits for a
    // time slice.
    concurrentTasksPerWorker: SLICES_PER_THREAD,
  });
}

/** One key-index put per record; keys and values of the whole batch share one allocation. */
function putKeyIndex(write: KvBatch, accepted: readonly PreparedRecord[]): void {
  for (const record of accepted) write.putKeyVersion(record.prefix, record.version, record.leafIndex);
}

/** The (version, leaf index) a key-index entry holds; `prefixLength` is its key's prefix length. */
function keyStateOf(entry: KvEntry, prefixLength: number): KeyState {
  return { version: readU64(entry[0], prefixLength), leafIndex: readKeyVersionValue(entry[1]) };
}

function keyRangeEnd(prefix: Uint8Array): Uint8Array {
  const end = new Uint8Array(prefix.length + 8).fill(0xff);
  end.set(prefix);
  return end;
}

function invalidInput(message: string): StorageError {
  return new StorageError(StorageErrorCode.InputInvalid, message);
}

function stringBytesOf(value: string, what: string): Uint8Array {
  if (typeof value !== 'string' || value.length === 0) throw invalidInput(`${what} must be a non-empty string`);
  return utf8.encode(value);
}

function keyBytesOf(key: string): Uint8Array {
  return stringBytesOf(key, 'key');
}
