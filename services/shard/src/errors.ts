// Stable error codes of the shard worker. Read replies carry the code in the transport's error
// header (Cairn-Error), so a caller switches on it; a code is never renamed or reused, new codes are
// appended. docs/design/shard.md holds the table with the HTTP status the proof service maps it to.
import { StorageError, StorageErrorCode } from '@cairn/storage';

export const shardErrorCodes = [
  'SHARD_CONFIG',
  'SHARD_BAD_REQUEST',
  'SHARD_NOT_FOUND',
  'SHARD_OUT_OF_RANGE',
  'SHARD_HEAD_TIMEOUT',
  'SHARD_HEAD_UNKNOWN',
  'SHARD_BUSY',
  'SHARD_UNAVAILABLE',
  'SHARD_CORRUPT',
  'SHARD_WRONG_SHARD',
  'SHARD_WIRE_VERSION',
  'SHARD_INTERNAL',
] as const;

export type ShardErrorCode = (typeof shardErrorCodes)[number];

export function isShardErrorCode(value: unknown): value is ShardErrorCode {
  return typeof value === 'string' && (shardErrorCodes as readonly string[]).includes(value);
}

export class ShardError extends Error {
  override readonly name = 'ShardError';
  readonly code: ShardErrorCode;

  constructor(code: ShardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

const fromStorage: Readonly<Record<StorageErrorCode, ShardErrorCode>> = {
  [StorageErrorCode.LimitInvalid]: 'SHARD_CONFIG',
  [StorageErrorCode.BindingInvalid]: 'SHARD_CONFIG',
  [StorageErrorCode.InputInvalid]: 'SHARD_BAD_REQUEST',
  [StorageErrorCode.KeyTooLarge]: 'SHARD_BAD_REQUEST',
  [StorageErrorCode.ValueTooLarge]: 'SHARD_BAD_REQUEST',
  [StorageErrorCode.MetaTooLarge]: 'SHARD_BAD_REQUEST',
  [StorageErrorCode.TxIdTooLarge]: 'SHARD_BAD_REQUEST',
  [StorageErrorCode.TxTooManyRecords]: 'SHARD_BAD_REQUEST',
  [StorageErrorCode.BatchTooManyTxs]: 'SHARD_BAD_REQUEST',
  [StorageErrorCode.BatchTooManyRecords]: 'SHARD_BAD_REQUEST',
  [StorageErrorCode.BatchTooManyBytes]: 'SHARD_BAD_REQUEST',
  [StorageErrorCode.Busy]: 'SHARD_BUSY',
  [StorageErrorCode.OutOfRange]: 'SHARD_OUT_OF_RANGE',
  [StorageErrorCode.NotFound]: 'SHARD_NOT_FOUND',
  [StorageErrorCode.Corrupt]: 'SHARD_CORRUPT',
  [StorageErrorCode.Closed]: 'SHARD_UNAVAILABLE',
  [StorageErrorCode.FormatUnknown]: 'SHARD_CORRUPT',
  // Not an input error: the shard stops, and its restart appends from the store's head in order.
  [StorageErrorCode.Aborted]: 'SHARD_INTERNAL',
};

/** Any error as a ShardError with a stable code (storage codes mapped, the rest internal). */
export function asShardError(error: unknown): ShardError {
  if (error instanceof ShardError) return error;
  if (error instanceof StorageError) return new ShardError(fromStorage[error.code] ?? 'SHARD_INTERNAL', error.message, { cause: error });
  return new ShardError('SHARD_INTERNAL', error instanceof Error ? error.message : String(error), { cause: error });
}

/** Storage rejected the batch's content (not the disk): splitting the batch can isolate the bad message. */
export function isInputError(error: unknown): boolean {
  return error instanceof StorageError && fromStorage[error.code] === 'SHARD_BAD_REQUEST';
}
