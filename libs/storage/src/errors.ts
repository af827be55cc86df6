/**
 * Stable error codes of the storage engine. Callers (the shard service) map them to wire codes, so
 * a code is never renamed or reused; new codes are appended. docs/design/storage.md holds the table.
 */
export const StorageErrorCode = {
  /** A limit passed to openStore is not an integer in its allowed range. */
  LimitInvalid: 'STORAGE_LIMIT_INVALID',
  /** CAIRN_ROCKSDB_BINDING (or the binding option) names no known binding. */
  BindingInvalid: 'STORAGE_BINDING_INVALID',
  /** The batch, a transaction or a record is malformed (types, empty fields, bad hashes). */
  InputInvalid: 'STORAGE_INPUT_INVALID',
  KeyTooLarge: 'STORAGE_KEY_TOO_LARGE',
  ValueTooLarge: 'STORAGE_VALUE_TOO_LARGE',
  MetaTooLarge: 'STORAGE_META_TOO_LARGE',
  TxIdTooLarge: 'STORAGE_TX_ID_TOO_LARGE',
  TxTooManyRecords: 'STORAGE_TX_TOO_MANY_RECORDS',
  BatchTooManyTxs: 'STORAGE_BATCH_TOO_MANY_TXS',
  BatchTooManyRecords: 'STORAGE_BATCH_TOO_MANY_RECORDS',
  BatchTooManyBytes: 'STORAGE_BATCH_TOO_MANY_BYTES',
  /** More appends are waiting than append_queue_max allows: push back and retry later. */
  Busy: 'STORAGE_BUSY',
  /** A leaf index or tree size beyond the current head. */
  OutOfRange: 'STORAGE_OUT_OF_RANGE',
  NotFound: 'STORAGE_NOT_FOUND',
  /** Stored bytes fail to decode or contradict each other: the directory was damaged or tampered with. */
  Corrupt: 'STORAGE_CORRUPT',
  /** The store is closed, or a failed write left it unusable until it is reopened. */
  Closed: 'STORAGE_CLOSED',
  /** The directory holds a layout this code does not know. */
  FormatUnknown: 'STORAGE_FORMAT_UNKNOWN',
  /**
   * An append above the sequence of one that failed before its write (a refused batch, a failed
   * read), before any append reached that sequence: not decided, nothing of it written, since
   * committing its higher sequence would skip the failed batch's for good. Append it again once
   * the failed one is dealt with.
   */
  Aborted: 'STORAGE_ABORTED',
} as const;

export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}
