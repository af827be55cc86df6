// The one table of stable error codes. A code is a public contract: clients switch on it, so a code
// is never renamed, renumbered or reused for another meaning. New codes are appended.
// The HTTP status of every code lives in the same table, and the `satisfies` clause makes the
// compiler reject a code without a status (exhaustive by construction, not by review).

// Append-only: the order is the order codes were introduced.
export const errorCodes = [
  'malformed_json',
  'body_too_large',
  'wrong_type',
  'json_too_deep',
  'bad_unicode',
  'bad_query',
  'not_found',
  'method_not_allowed',
  'invalid_id',
  'empty_records',
  'too_many_records',
  'invalid_key',
  'key_too_large',
  'bad_hash_tag',
  'duplicate_key',
  'value_too_large',
  'meta_too_large',
  'tx_too_large',
  'bad_expect',
  'precondition_cross_shard',
  'empty_batch',
  'batch_too_large',
  'precondition_failed',
  'id_conflict',
  'backpressure',
  'unavailable',
  'timeout',
  'wire_truncated',
  'wire_version',
  'wire_malformed',
  'internal',
  'unsupported_media_type',
  'host_not_allowed',
  'unauthenticated',
  'forbidden_tag',
  'api_key_busy',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export type HttpStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 421 | 500 | 503 | 504;

// `satisfies Record<ErrorCode, ...>` rejects both a code without a status and a status for an
// unknown code, so the table cannot drift from the list.
export const errorStatus = {
  // Request envelope.
  malformed_json: 400,
  body_too_large: 413,
  wrong_type: 400,
  json_too_deep: 400,
  bad_unicode: 400,
  bad_query: 400,
  not_found: 404,
  method_not_allowed: 405,
  // A body that does not say it is JSON is never read: it is what a browser can send cross-site
  // without a CORS preflight (text/plain, forms), so taking it would let any web page write.
  unsupported_media_type: 415,
  // A Host header this server was not configured to answer for: what a page that rebinds its own
  // domain to the server's address sends. 421 (RFC 9110 15.5.20), not 403: the request was sent to
  // the wrong authority, not by an unauthorised client, and the body is never read.
  host_not_allowed: 421,
  // A write without a valid API key (when the gateway has keys): the body is not read. The answer
  // carries WWW-Authenticate: Bearer. One code for a missing, malformed or unknown token, so that
  // the answer tells a guesser nothing.
  unauthenticated: 401,
  // A valid API key writing a record under a hash tag it was not given: nothing of the
  // transaction is written.
  forbidden_tag: 403,
  // The API key already has api_key_waiters_max transactions waiting at this gateway: its share
  // is full while the gateway may still take other keys' writes. Retry-After, like backpressure.
  api_key_busy: 503,
  // Transaction content.
  invalid_id: 400,
  empty_records: 400,
  too_many_records: 413,
  invalid_key: 400,
  key_too_large: 413,
  bad_hash_tag: 400,
  duplicate_key: 400,
  value_too_large: 413,
  meta_too_large: 413,
  tx_too_large: 413,
  bad_expect: 400,
  precondition_cross_shard: 400,
  empty_batch: 400,
  batch_too_large: 413,
  // Outcomes decided by the shards.
  precondition_failed: 409,
  id_conflict: 409,
  // Capacity and availability: retry later (Retry-After on 503).
  backpressure: 503,
  unavailable: 503,
  timeout: 504,
  // Binary codecs between services (never caused by a client's bytes).
  wire_truncated: 500,
  wire_version: 500,
  wire_malformed: 500,
  internal: 500,
} as const satisfies Record<ErrorCode, HttpStatus>;

export function statusOf(code: ErrorCode): HttpStatus {
  return errorStatus[code];
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorStatus, value);
}

export interface CairnErrorOptions {
  cause?: unknown;
  // Seconds a client should wait before retrying (back-pressure and availability codes).
  retryAfterSeconds?: number;
  // Where in the request the problem is, e.g. "records[3].key" (for humans and for clients' logs).
  path?: string;
}

export class CairnError extends Error {
  readonly code: ErrorCode;
  readonly status: HttpStatus;
  readonly retryAfterSeconds: number | undefined;
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, options: CairnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CairnError';
    this.code = code;
    this.status = statusOf(code);
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.path = options.path;
  }
}

// The JSON body of every error answer: { "error": { "code", "message", "path"? } }.
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  path?: string;
}

export function errorBody(error: CairnError): ErrorBody {
  const body: ErrorBody = { code: error.code, message: error.message };
  if (error.path !== undefined) body.path = error.path;
  return body;
}
