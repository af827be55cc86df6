// Every verification failure is a VerifyError with a stable `code` (docs/design/proofs.md lists
// them; docs/design/client.md says when each is raised). Codes are an API: never renamed or reused.

export const VERIFY_ERROR_CODES = [
  'bad_signature',
  'unknown_key',
  'inclusion_failed',
  'consistency_failed',
  'rollback',
  'fork',
  'value_mismatch',
  'entry_mismatch',
  'state_mismatch',
  'malformed_response',
  'stale_version',
] as const;

export type VerifyErrorCode = (typeof VERIFY_ERROR_CODES)[number];

export class VerifyError extends Error {
  override readonly name = 'VerifyError';
  readonly code: VerifyErrorCode;

  constructor(code: VerifyErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}

export function isVerifyError(error: unknown, code?: VerifyErrorCode): error is VerifyError {
  return error instanceof VerifyError && (code === undefined || error.code === code);
}
