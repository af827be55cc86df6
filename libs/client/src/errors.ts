// Failures that are not proofs: the network, or a server that answered with an error. They carry the
// server's stable code (the @cairn/wire table: `backpressure`, `not_found`, ...) so callers can branch
// on it exactly as on the HTTP API, and they are never confused with a VerifyError: a server that
// refuses is not a server that lies.

/** Codes the client itself assigns when no server code exists. */
export const CLIENT_REQUEST_CODES = ['network', 'request_timeout', 'response_too_large', 'http_status'] as const;

export class RequestError extends Error {
  override readonly name = 'RequestError';
  /** The server's error code (`{ "error": { "code" } }`), or one of CLIENT_REQUEST_CODES. */
  readonly code: string;
  /** HTTP status, or undefined when no answer arrived. */
  readonly status: number | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly url: string;

  constructor(code: string, message: string, details: { url: string; status?: number; retryAfterSeconds?: number; cause?: unknown }) {
    super(`${code}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.status = details.status;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.url = details.url;
  }
}

export function isRequestError(error: unknown, code?: string): error is RequestError {
  return error instanceof RequestError && (code === undefined || error.code === code);
}
