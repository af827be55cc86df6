export {
  openStore,
  Store,
  createHashPool,
  hashWorkerUrl,
  HASH_WORKER_FUNCTION,
  type OpenStoreOptions,
  type Head,
  type AppendResult,
  type AppendMetrics,
  type TxResult,
  type StoredLeaf,
  type StoredTx,
} from './store.js';
export type { BatchInput, TxInput, RecordInput, Expect } from './input.js';
export type { TxStatus, RecordLocation, PreconditionFailure } from './decide.js';
export { StorageError, StorageErrorCode } from './errors.js';
export { defaultLimits, resolveLimits, type StorageLimits } from './limits.js';
export { createNodeHasher } from './node-hasher.js';
export { openKv, chooseBinding, defaultBinding, kvBindings, type Kv, type KvBatch, type KvBinding, type KvRange, type KvEntry, type KvSpan } from './kv.js';
export {
  Family,
  keyPrefix,
  keyVersionKey,
  leafChunkKey,
  valueChunkKey,
  seqHeadKey,
  tileKey,
  txKey,
  HEAD_KEY,
  FORMAT_KEY,
  CHUNK_LEAVES_MAX,
} from './layout.js';
