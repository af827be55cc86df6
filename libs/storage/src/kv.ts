import { StorageError, StorageErrorCode } from './errors.js';

/**
 * The few operations the engine needs from an ordered key-value store. Two RocksDB bindings sit
 * behind it (docs/design/storage.md says why and which is the default); tests run against both.
 */
export interface Kv {
  readonly binding: KvBinding;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** One native call for many point reads: the cheap way to read many keys. */
  getMany(keys: readonly Uint8Array[]): Promise<(Uint8Array | undefined)[]>;
  /** Entries in key order (or reverse), at most `limit` of them: every scan is bounded. */
  range(range: KvRange): Promise<KvEntry[]>;
  /**
   * The last entry of each [gte, lt) range (undefined if it is empty): what a batch's keys missing
   * from the key cache need (their latest versions). nxtedition reads them all on one iterator
   * (one view of the store); classic scans each range on its own.
   */
  lastInRanges(ranges: readonly KvSpan[]): Promise<(KvEntry | undefined)[]>;
  batch(): KvBatch;
  /**
   * Applies every put of the batch atomically; `sync` waits for the WAL to reach the disk.
   * `overlap`: the caller has work to do meanwhile, so the write may go to another thread; without
   * it the write takes the cheapest path, which may hold the calling thread.
   */
  write(batch: KvBatch, options: { sync: boolean; overlap?: boolean }): Promise<void>;
  /**
   * True if writes issued before the previous one resolved still land in issue order, and once
   * one fails every later one fails without landing: the caller may then issue a write without
   * waiting for the one before (and the binding may group them under one sync).
   */
  readonly orderedWrites: boolean;
  close(): Promise<void>;
}

export interface KvBatch {
  put(key: Uint8Array, value: Uint8Array): void;
  /**
   * put(prefix || u64 version, u64 leafIndex): a key-index entry (layout.ts), the one put an
   * append makes per record, written without building its key and value first.
   */
  putKeyVersion(prefix: Uint8Array, version: number, leafIndex: number): void;
  del(key: Uint8Array): void;
  readonly length: number;
}

export interface KvRange {
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  reverse?: boolean;
  limit: number;
}

export type KvEntry = readonly [key: Uint8Array, value: Uint8Array];

export interface KvSpan {
  readonly gte: Uint8Array;
  readonly lt: Uint8Array;
}

/** Unsigned byte order, as RocksDB's default comparator sorts keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export const kvBindings = ['nxtedition', 'classic'] as const;
export type KvBinding = (typeof kvBindings)[number];

/** The binding named by CAIRN_ROCKSDB_BINDING, else the platform default. */
export function chooseBinding(requested: string | undefined = process.env['CAIRN_ROCKSDB_BINDING']): KvBinding {
  if (requested === undefined || requested === '') return defaultBinding();
  if ((kvBindings as readonly string[]).includes(requested)) return requested as KvBinding;
  throw new StorageError(StorageErrorCode.BindingInvalid, `CAIRN_ROCKSDB_BINDING must be one of ${kvBindings.join(', ')}, got ${requested}`);
}

/**
 * @nxtedition/rocksdb ships a prebuild only for linux-x64 (and darwin-arm64), compiled for AMD Zen;
 * rocksdb 5.2.1 ships portable prebuilds. Use the faster one only where it exists.
 */
export function defaultBinding(): KvBinding {
  return process.platform === 'linux' && process.arch === 'x64' ? 'nxtedition' : 'classic';
}

export async function openKv(dir: string, binding: KvBinding = chooseBinding()): Promise<Kv> {
  if (binding === 'nxtedition') {
    const { openNxteditionKv } = await import('./kv-nxtedition.js');
    return openNxteditionKv(dir);
  }
  const { openClassicKv } = await import('./kv-classic.js');
  return openClassicKv(dir);
}

/** A Buffer view of the same bytes, for bindings that only accept Buffers. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The same bytes as a plain Uint8Array: Buffer.slice does not copy, so Buffers must not leak into
 * code (or callers) that expects slice() to copy.
 */
export function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
