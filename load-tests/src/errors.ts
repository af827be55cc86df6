// Errors of the load tool itself (not of the ledger, whose answers are counted, not thrown): a
// stable string `code`, the way every Cairn package reports bad input.
export const LOAD_ERROR_CODES = ['bad_option', 'not_loopback', 'setup_failed', 'chaos_failed'] as const;
export type LoadErrorCode = (typeof LOAD_ERROR_CODES)[number];

export class LoadError extends Error {
  override readonly name = 'LoadError';
  readonly code: LoadErrorCode;

  constructor(code: LoadErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isLoadError(value: unknown): value is LoadError {
  return value instanceof LoadError;
}
