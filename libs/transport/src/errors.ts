/**
 * Stable error codes of @cairn/transport. Never renumber or rename: services map them to HTTP
 * statuses and clients match on them. The table with reasons is in docs/design/transport.md.
 */
export const TransportErrorCode = {
  /** An option or bound is out of its range (checked at start). */
  CONFIG: 'TRANSPORT_CONFIG',
  /** A caller passed a malformed argument (empty batch, bad subject, reserved header...). */
  BAD_INPUT: 'TRANSPORT_BAD_INPUT',
  /** Could not connect to any server. */
  CONNECT: 'TRANSPORT_CONNECT',
  /** The transport was closed; the call cannot run. */
  CLOSED: 'TRANSPORT_CLOSED',
  /** The server is older than the features this layout needs (atomic batches: 2.12). */
  SERVER_VERSION: 'TRANSPORT_SERVER_VERSION',
  /** No answer in time. For a publish the outcome is UNKNOWN: retry with the same msg ids. */
  TIMEOUT: 'TRANSPORT_TIMEOUT',
  /** Nobody listens on the subject (no stream, no service). */
  NO_RESPONDERS: 'TRANSPORT_NO_RESPONDERS',
  /** The stream does not exist (ensureStream was not run). */
  STREAM_NOT_FOUND: 'TRANSPORT_STREAM_NOT_FOUND',
  /** An existing stream differs from the layout (shard count, subjects, storage...). */
  STREAM_MISMATCH: 'TRANSPORT_STREAM_MISMATCH',
  /** An atomic batch holds more messages than the server allows (1,000). */
  BATCH_TOO_LARGE: 'TRANSPORT_BATCH_TOO_LARGE',
  /** One message is larger than the server's max_payload. */
  MESSAGE_TOO_LARGE: 'TRANSPORT_MESSAGE_TOO_LARGE',
  /** A bound on work in flight is reached (here or on the server): retry later. */
  BACKPRESSURE: 'TRANSPORT_BACKPRESSURE',
  /** The server refused a message id it stored within the duplicate window; for a batch, nothing was stored. */
  DUPLICATE: 'TRANSPORT_DUPLICATE',
  /** The server rejected an atomic batch; nothing of it was stored. */
  BATCH_REJECTED: 'TRANSPORT_BATCH_REJECTED',
  /** The server rejected a single publish. */
  PUBLISH_REJECTED: 'TRANSPORT_PUBLISH_REJECTED',
  /**
   * A create-only publish found its subject already holding a message (the server's "wrong last
   * sequence", 10071): nothing was stored; read the existing message to see whose it is.
   */
  WRONG_LAST_SEQUENCE: 'TRANSPORT_WRONG_LAST_SEQUENCE',
  /** A consume handler threw; the consumer stopped and nothing of that batch was acked. */
  HANDLER_FAILED: 'TRANSPORT_HANDLER_FAILED',
  /** A consumer could not keep a gap-free, in-order delivery and gave up. */
  CONSUMER_FAILED: 'TRANSPORT_CONSUMER_FAILED',
  /** A request's responder answered with an error. */
  REMOTE_ERROR: 'TRANSPORT_REMOTE_ERROR',
  /** The server answered something this client does not understand. */
  PROTOCOL: 'TRANSPORT_PROTOCOL',
  /**
   * JetStream did not answer as ready within jetstream_ready_ms_max (no metadata leader yet, too
   * few nodes for the stream's replicas, JetStream still starting): start again later.
   */
  JETSTREAM_NOT_READY: 'TRANSPORT_JETSTREAM_NOT_READY',
} as const;

export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

export interface TransportErrorDetails {
  /** JetStream's own err_code (e.g. 10201 duplicate message id in a batch), when the server gave one. */
  readonly server_err_code?: number;
  /** The code a remote responder put on its error reply. */
  readonly remote_code?: string;
  readonly subject?: string;
}

export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly code: TransportErrorCode;
  readonly details: TransportErrorDetails;

  constructor(code: TransportErrorCode, message: string, opts: { cause?: unknown; details?: TransportErrorDetails } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.details = opts.details ?? {};
  }
}

export function isTransportError(err: unknown, code?: TransportErrorCode): err is TransportError {
  return err instanceof TransportError && (code === undefined || err.code === code);
}

/** Names along an error's cause chain (bounded), to classify nats.js errors without importing their classes. */
function causeNames(err: unknown): string[] {
  const names: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; depth < 8 && cur instanceof Error; depth += 1) {
    names.push(cur.name, cur.message);
    cur = cur.cause;
  }
  return names;
}

/** Maps an error thrown by nats.js into a TransportError; a TransportError passes through. */
export function fromNatsError(err: unknown, what: string, subject?: string): TransportError {
  if (err instanceof TransportError) return err;
  const names = causeNames(err).join(' ');
  const details = subject === undefined ? {} : { subject };
  const make = (code: TransportErrorCode, text: string): TransportError =>
    new TransportError(code, `${what}: ${text}`, { cause: err, details });
  if (/NoResponders|no responders/i.test(names)) return make(TransportErrorCode.NO_RESPONDERS, 'no responders');
  if (/Timeout|timed out/i.test(names)) return make(TransportErrorCode.TIMEOUT, 'timed out');
  if (/ClosedConnection|closed|Draining/i.test(names)) return make(TransportErrorCode.CLOSED, 'connection closed');
  if (/max.?payload/i.test(names)) return make(TransportErrorCode.MESSAGE_TOO_LARGE, 'message exceeds max_payload');
  if (/stream not found/i.test(names)) return make(TransportErrorCode.STREAM_NOT_FOUND, 'stream not found');
  return make(TransportErrorCode.PROTOCOL, err instanceof Error ? err.message : String(err));
}
