/**
 * Every failure in this package is a CheckpointError with a stable `code`. Codes are part of the API:
 * never renamed or reused (the table lives in docs/design/checkpoint.md).
 */
export const CHECKPOINT_ERROR_CODES = [
  'BASE64_MALFORMED',
  'UTF8_MALFORMED',
  'KEY_MALFORMED',
  'KEY_ID_MISMATCH',
  'KEY_ALGORITHM_UNSUPPORTED',
  'RANDOM_UNAVAILABLE',
  'VERIFIER_AMBIGUOUS',
  'VERIFIERS_INVALID',
  'SIGNERS_INVALID',
  'NOTE_TEXT_INVALID',
  'NOTE_MALFORMED',
  'NOTE_LIMIT_EXCEEDED',
  'NOTE_BAD_SIGNATURE',
  'NOTE_NO_VERIFIED_SIGNATURE',
  'CHECKPOINT_MALFORMED',
  'CHECKPOINT_ROOT_SIZE',
  'CHECKPOINT_ORIGIN_MISMATCH',
] as const;

export type CheckpointErrorCode = (typeof CHECKPOINT_ERROR_CODES)[number];

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  readonly code: CheckpointErrorCode;

  constructor(code: CheckpointErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}

/** A signature on a note, as it appears on its line: key name, uint32 key ID, base64 of ID||signature. */
export interface Signature {
  readonly name: string;
  readonly keyId: number;
  readonly base64: string;
}

/**
 * No known key verified the note. The syntactically valid signatures from unknown keys are attached,
 * so a caller can say which keys it would have needed.
 */
export class NoteUnverifiedError extends CheckpointError {
  readonly unverified: readonly Signature[];

  constructor(message: string, unverified: readonly Signature[]) {
    super('NOTE_NO_VERIFIED_SIGNATURE', message);
    this.unverified = unverified;
  }
}
