import { availableParallelism } from 'node:os';
import { StorageError, StorageErrorCode } from './errors.js';
import { nativeHash } from './native-hash.js';

/**
 * Every bound of the engine, units last. Defaults are checked against [min, max] at open so a bad
 * configuration fails at start, not under load (docs/design/storage.md explains each default).
 */
export interface StorageLimits {
  readonly key_bytes_max: number;
  readonly tx_id_bytes_max: number;
  readonly value_bytes_max: number;
  readonly meta_bytes_max: number;
  readonly tx_records_max: number;
  readonly batch_txs_max: number;
  readonly batch_records_max: number;
  /** Keys, ids, values and metadata of one batch together. */
  readonly batch_bytes_max: number;
  /** Appends waiting behind the one being committed; more is push-back (STORAGE_BUSY). */
  readonly append_queue_max: number;
  readonly pool_threads_max: number;
  /** Hash tasks queued in the pool beyond its threads. */
  readonly pool_queue_max: number;
  /** Records per hash task: many per task keeps the message overhead off the per-record cost. */
  readonly task_records_max: number;
  /** Batches with at most this many records hash on the calling thread: a pool round trip costs more. */
  readonly inline_records_max: number;
  /** Percent of a pooled batch's records the calling thread hashes itself instead of waiting. */
  readonly main_hash_share_pct: number;
  /** Latest (version, leaf index) per key kept in memory. */
  readonly key_cache_entries_max: number;
  /** Versions returned by one history() call. */
  readonly history_versions_max: number;
}

type Range = readonly [min: number, max: number];

const ranges: { readonly [K in keyof StorageLimits]: Range } = {
  key_bytes_max: [1, 65_535],
  tx_id_bytes_max: [1, 65_535],
  value_bytes_max: [0, 64 * 1024 * 1024],
  meta_bytes_max: [0, 16 * 1024 * 1024],
  tx_records_max: [10_000, 1_000_000],
  batch_txs_max: [1, 1_000_000],
  batch_records_max: [10_000, 10_000_000],
  batch_bytes_max: [1024 * 1024, 1024 * 1024 * 1024],
  append_queue_max: [1, 1024],
  pool_threads_max: [1, 64],
  pool_queue_max: [1, 65_536],
  task_records_max: [64, 1_000_000],
  inline_records_max: [0, 1_000_000],
  main_hash_share_pct: [0, 90],
  key_cache_entries_max: [0, 100_000_000],
  history_versions_max: [1, 1_000_000],
};

export const defaultLimits: StorageLimits = Object.freeze({
  key_bytes_max: 1024,
  tx_id_bytes_max: 128,
  value_bytes_max: 1024 * 1024,
  meta_bytes_max: 64 * 1024,
  tx_records_max: 10_000,
  batch_txs_max: 10_000,
  batch_records_max: 100_000,
  batch_bytes_max: 128 * 1024 * 1024,
  append_queue_max: 16,
  // One core stays with the main thread (RocksDB puts); the rest hash.
  pool_threads_max: Math.max(1, Math.min(8, availableParallelism() - 1)),
  pool_queue_max: 256,
  task_records_max: 2048,
  // With the native addon one core hashes ~1.9M records/s, so a pool round trip (posting, a
  // wake-up on a busy core, waiting) costs more than hashing a few thousand records inline; with
  // node:crypto (~1 us a hash) it pays from about 64 (docs/design/storage.md, "Hashing").
  inline_records_max: nativeHash === undefined ? 64 : 4096,
  main_hash_share_pct: 30,
  key_cache_entries_max: 1_000_000,
  history_versions_max: 10_000,
});

export function resolveLimits(overrides: Partial<StorageLimits> = {}): StorageLimits {
  const limits: Record<string, number> = { ...defaultLimits };
  for (const [name, value] of Object.entries(overrides)) {
    if (!(name in ranges)) throw new StorageError(StorageErrorCode.LimitInvalid, `unknown limit ${name}`);
    if (value !== undefined) limits[name] = value;
  }
  for (const [name, [min, max]] of Object.entries(ranges)) {
    const value = limits[name];
    if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
      throw new StorageError(StorageErrorCode.LimitInvalid, `${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
    }
  }
  return Object.freeze(limits as unknown as StorageLimits);
}
