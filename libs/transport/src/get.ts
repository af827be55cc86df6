import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { TransportError, TransportErrorCode, fromNatsError } from './errors.js';

export interface StoredLast {
  readonly seq: number;
  readonly data: Uint8Array;
}

// Status codes of a direct get reply (ADR-31): 404 no message on that subject.
const STATUS_NOT_FOUND = 404;

/**
 * The newest message stored on `subject` of `stream`, or undefined if there is none: a direct get
 * (ADR-31, the stream needs allow_direct), one request that any replica may answer. The subject
 * goes in the request subject, not the body, so that permissions can be set per subject.
 */
export async function lastBySubject(nc: NatsConnection, stream: string, subject: string, timeoutMs: number): Promise<StoredLast | undefined> {
  let reply: Msg;
  try {
    reply = await nc.request(`$JS.API.DIRECT.GET.${stream}.${subject}`, new Uint8Array(0), { timeout: timeoutMs });
  } catch (err) {
    throw fromNatsError(err, `direct get ${stream}`, subject);
  }
  const status = reply.headers?.code ?? 0;
  if (status === STATUS_NOT_FOUND) return undefined;
  if (status !== 0) {
    throw new TransportError(TransportErrorCode.PROTOCOL, `direct get ${stream}: status ${status} ${reply.headers?.description ?? ''}`, { details: { subject } });
  }
  const seq = Number(reply.headers?.get('Nats-Sequence'));
  if (!Number.isSafeInteger(seq) || seq < 1 || reply.headers?.get('Nats-Subject') !== subject) {
    throw new TransportError(TransportErrorCode.PROTOCOL, `direct get ${stream}: reply without sequence or for another subject`, { details: { subject } });
  }
  return { seq, data: reply.data };
}
