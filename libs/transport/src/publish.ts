import { randomUUID } from 'node:crypto';
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { TransportError, TransportErrorCode, fromNatsError } from './errors.js';

/** nats-server's limit on messages in one atomic batch (ADR-50); the server rejects more with 10199. */
export const ATOMIC_BATCH_MSGS_MAX = 1_000;
/** nats-server allows 50 open atomic batches per stream (ADR-50); one client keeps room for others. */
export const ATOMIC_BATCHES_IN_FLIGHT_MAX_DEFAULT = 32;
export const PUBLISH_TIMEOUT_MS_DEFAULT = 5_000;
export const MSG_ID_LENGTH_MAX = 128;

// JetStream err_codes we branch on (nats-server errors.json; ADR-50 for the batch ones).
const JS_ERR_BATCH_DUPLICATE_MSG_ID = 10201;
const JS_ERR_BATCH_TOO_MANY_INFLIGHT = 10210;
const JS_ERR_BATCH_TOO_LARGE = 10199;
const JS_ERR_MESSAGE_TOO_LARGE = 10054;
const JS_ERR_WRONG_LAST_SEQUENCE = 10071;
// The batch form of 10071 (the same subject twice in one create-only batch).
const JS_ERR_BATCH_WRONG_LAST_SEQUENCE = 10164;

const HDR_BATCH_ID = 'Nats-Batch-Id';
const HDR_BATCH_SEQ = 'Nats-Batch-Sequence';
const HDR_BATCH_COMMIT = 'Nats-Batch-Commit';
const HDR_MSG_ID = 'Nats-Msg-Id';
const HDR_EXPECTED_LAST_SUBJECT_SEQ = 'Nats-Expected-Last-Subject-Sequence';

export interface OutboundMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Dedupe id: JetStream drops (single publish) or refuses (atomic batch) a repeat within the duplicate window. */
  readonly msgId?: string;
  /** Application headers; names starting with "Nats-" are reserved for the protocol. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface PublishAck {
  readonly stream: string;
  readonly seq: number;
  /** True when the msgId was already stored: seq is then the original message's sequence. */
  readonly duplicate: boolean;
}

export interface AtomicBatchAck {
  readonly stream: string;
  readonly batchId: string;
  /** Stream sequence of the batch's first message; the batch occupies [firstSeq, lastSeq] contiguously. */
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly count: number;
}

interface JsAck {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  batch?: string;
  count?: number;
  error?: { code?: number; err_code?: number; description?: string };
}

/**
 * nats-server counts a message's headers against max_payload, not only its data. The headers this
 * package adds to any message, at most: "NATS/1.0\r\n", Nats-Batch-Id (a UUID), Nats-Batch-Sequence
 * (up to 1,000), Nats-Batch-Commit, Nats-Expected-Last-Subject-Sequence, the blank line (about 190
 * bytes), and a Nats-Msg-Id of MSG_ID_LENGTH_MAX (143): rounded up. A caller that sizes its data to
 * max_payload - PUBLISH_OVERHEAD_BYTES_MAX (and adds no headers of its own) is never refused for size.
 */
export const PUBLISH_OVERHEAD_BYTES_MAX = 512;

/** Bytes the headers of `msg` may take on the wire, protocol headers included (an upper bound). */
function headerBytesMax(msg: OutboundMessage): number {
  let bytes = PUBLISH_OVERHEAD_BYTES_MAX;
  for (const [name, value] of Object.entries(msg.headers ?? {})) bytes += name.length + value.length + 4;
  return bytes;
}

function badInput(message: string): TransportError {
  return new TransportError(TransportErrorCode.BAD_INPUT, message);
}

/** Checks one message against the stream's subjects and the server's payload limit. */
export function checkMessage(msg: OutboundMessage, subjects: ReadonlySet<string>, maxPayload: number): void {
  if (!subjects.has(msg.subject)) throw badInput(`subject ${JSON.stringify(msg.subject)} is not a subject of the stream`);
  if (!(msg.data instanceof Uint8Array)) throw badInput('data must be a Uint8Array');
  if (msg.data.length + headerBytesMax(msg) > maxPayload) {
    throw new TransportError(TransportErrorCode.MESSAGE_TOO_LARGE, `message of ${msg.data.length} bytes and its headers exceeds max_payload ${maxPayload}`, {
      details: { subject: msg.subject },
    });
  }
  if (msg.msgId !== undefined && !/^[\x21-\x7e]+$/.test(msg.msgId)) throw badInput('msgId must be printable ASCII without spaces');
  if (msg.msgId !== undefined && msg.msgId.length > MSG_ID_LENGTH_MAX) throw badInput(`msgId longer than ${MSG_ID_LENGTH_MAX}`);
  for (const [name, value] of Object.entries(msg.headers ?? {})) {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(name) || /^nats-/i.test(name)) throw badInput(`header name ${JSON.stringify(name)} is not allowed`);
    if (/[\r\n]/.test(value)) throw badInput(`header ${name} has a line break`);
  }
}

function buildHeaders(msg: OutboundMessage): MsgHdrs {
  const h = natsHeaders();
  for (const [name, value] of Object.entries(msg.headers ?? {})) h.set(name, value);
  if (msg.msgId !== undefined) h.set(HDR_MSG_ID, msg.msgId);
  return h;
}

function parseAck(reply: Msg, what: string, subject: string): JsAck {
  let ack: JsAck;
  try {
    ack = JSON.parse(new TextDecoder().decode(reply.data)) as JsAck;
  } catch (err) {
    throw new TransportError(TransportErrorCode.PROTOCOL, `${what}: unreadable publish ack`, { cause: err, details: { subject } });
  }
  if (typeof ack !== 'object' || ack === null) throw new TransportError(TransportErrorCode.PROTOCOL, `${what}: publish ack is not an object`);
  return ack;
}

/** Maps a JetStream error ack to our codes; `rejected` is the code for "refused, nothing stored". */
function ackError(ack: JsAck, what: string, subject: string, rejected: TransportErrorCode): TransportError {
  const errCode = ack.error?.err_code ?? 0;
  const text = `${what}: ${ack.error?.description ?? 'rejected'} (err_code ${errCode})`;
  const details = { server_err_code: errCode, subject };
  if (errCode === JS_ERR_BATCH_DUPLICATE_MSG_ID) return new TransportError(TransportErrorCode.DUPLICATE, text, { details });
  if (errCode === JS_ERR_BATCH_TOO_MANY_INFLIGHT || ack.error?.code === 429) {
    return new TransportError(TransportErrorCode.BACKPRESSURE, text, { details });
  }
  if (errCode === JS_ERR_BATCH_TOO_LARGE) return new TransportError(TransportErrorCode.BATCH_TOO_LARGE, text, { details });
  if (errCode === JS_ERR_WRONG_LAST_SEQUENCE || errCode === JS_ERR_BATCH_WRONG_LAST_SEQUENCE) return new TransportError(TransportErrorCode.WRONG_LAST_SEQUENCE, text, { details });
  if (errCode === JS_ERR_MESSAGE_TOO_LARGE) return new TransportError(TransportErrorCode.MESSAGE_TOO_LARGE, text, { details });
  return new TransportError(rejected, text, { details });
}

/** One message, stored once per msgId within the duplicate window. */
export async function publishOne(nc: NatsConnection, msg: OutboundMessage, timeoutMs: number): Promise<PublishAck> {
  return publishWith(nc, msg, buildHeaders(msg), timeoutMs);
}

/**
 * One message stored only if its subject holds none yet (Nats-Expected-Last-Subject-Sequence: 0).
 * The server decides under the stream's lock, so of concurrent creators exactly one wins; the
 * others get WRONG_LAST_SEQUENCE and nothing of theirs is stored.
 */
export async function publishCreate(nc: NatsConnection, msg: OutboundMessage, timeoutMs: number): Promise<PublishAck> {
  const h = buildHeaders(msg);
  h.set(HDR_EXPECTED_LAST_SUBJECT_SEQ, '0');
  return publishWith(nc, msg, h, timeoutMs);
}

async function publishWith(nc: NatsConnection, msg: OutboundMessage, h: MsgHdrs, timeoutMs: number): Promise<PublishAck> {
  let reply: Msg;
  try {
    reply = await nc.request(msg.subject, msg.data, { headers: h, timeout: timeoutMs });
  } catch (err) {
    throw fromNatsError(err, 'publish', msg.subject);
  }
  const ack = parseAck(reply, 'publish', msg.subject);
  if (ack.error !== undefined) throw ackError(ack, 'publish', msg.subject, TransportErrorCode.PUBLISH_REJECTED);
  if (typeof ack.stream !== 'string' || !Number.isSafeInteger(ack.seq) || (ack.seq ?? 0) < 1) {
    throw new TransportError(TransportErrorCode.PROTOCOL, 'publish: ack without stream or sequence');
  }
  return { stream: ack.stream, seq: ack.seq as number, duplicate: ack.duplicate === true };
}

function batchHeaders(msg: OutboundMessage, batchId: string, index: number, commit: boolean, createOnly: boolean): MsgHdrs {
  const h = buildHeaders(msg);
  if (createOnly) h.set(HDR_EXPECTED_LAST_SUBJECT_SEQ, '0');
  h.set(HDR_BATCH_ID, batchId);
  h.set(HDR_BATCH_SEQ, String(index + 1));
  if (commit) h.set(HDR_BATCH_COMMIT, '1');
  return h;
}

/**
 * Sends one ADR-50 atomic batch on the core connection and waits for the commit's pub ack.
 *
 * The first message goes as a request whose reply we do not wait for before sending the rest: the
 * server answers it with an empty message, or with the error that refused to open the batch (too
 * many batches in flight, atomic publish off). Middle messages are fire-and-forget, which ADR-50
 * allows. The last carries Nats-Batch-Commit and its reply is the batch's pub ack. If any message
 * is lost on the way the server sees a gap in Nats-Batch-Sequence and rejects the whole batch at
 * commit (10176), so a missing per-message reply never means a partial batch.
 */
export async function publishBatch(nc: NatsConnection, msgs: readonly OutboundMessage[], timeoutMs: number, createOnly = false): Promise<AtomicBatchAck> {
  const count = msgs.length;
  const batchId = randomUUID();
  const last = msgs[count - 1];
  if (last === undefined) throw badInput('an atomic batch needs at least one message');
  let opened: Promise<Msg> | undefined;
  let committed: Promise<Msg>;
  try {
    for (let i = 0; i < count - 1; i += 1) {
      const msg = msgs[i] as OutboundMessage;
      const h = batchHeaders(msg, batchId, i, false, createOnly);
      if (i === 0) opened = nc.request(msg.subject, msg.data, { headers: h, timeout: timeoutMs });
      else nc.publish(msg.subject, msg.data, { headers: h });
    }
    committed = nc.request(last.subject, last.data, { headers: batchHeaders(last, batchId, count - 1, true, createOnly), timeout: timeoutMs });
  } catch (err) {
    // The server abandons the unfinished batch after 10 s without traffic; nothing of it is stored.
    opened?.catch(() => undefined);
    throw fromNatsError(err, 'atomic batch', last.subject);
  }
  const [openResult, commitResult] = await Promise.allSettled([opened ?? Promise.resolve(undefined), committed]);
  const commitAck = commitResult.status === 'fulfilled' ? parseAck(commitResult.value, 'atomic batch', last.subject) : undefined;
  if (commitAck !== undefined && commitAck.error === undefined) return batchAck(commitAck, batchId, count);
  // A refusal to open the batch names the real cause (the commit then only says "incomplete"), and
  // it makes the outcome certain even when the commit's reply was lost: nothing was stored.
  const openError = openResult.status === 'fulfilled' ? openFailure(openResult.value, last.subject) : undefined;
  if (openError !== undefined) throw openError;
  if (commitAck !== undefined) throw ackError(commitAck, 'atomic batch', last.subject, TransportErrorCode.BATCH_REJECTED);
  throw fromNatsError(commitResult.status === 'rejected' ? commitResult.reason : undefined, 'atomic batch commit (outcome unknown)', last.subject);
}

function openFailure(reply: Msg | undefined, subject: string): TransportError | undefined {
  if (reply === undefined || reply.data.length === 0) return undefined;
  const ack = parseAck(reply, 'atomic batch open', subject);
  return ack.error === undefined ? undefined : ackError(ack, 'atomic batch open', subject, TransportErrorCode.BATCH_REJECTED);
}

function batchAck(ack: JsAck, batchId: string, count: number): AtomicBatchAck {
  const lastSeq = ack.seq ?? 0;
  // Assert what the rest of the system relies on: the ack is for our batch and covers all of it.
  if (typeof ack.stream !== 'string' || ack.batch !== batchId || ack.count !== count || !Number.isSafeInteger(lastSeq) || lastSeq < count) {
    throw new TransportError(TransportErrorCode.PROTOCOL, `atomic batch: unexpected commit ack ${JSON.stringify(ack)}`);
  }
  return { stream: ack.stream, batchId, firstSeq: lastSeq - count + 1, lastSeq, count };
}
