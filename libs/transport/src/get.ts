import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { TransportError, TransportErrorCode, fromNatsError } from './errors.js';

export interface StoredLast {
  readonly seq: number;
  readonly data: Uint8Array;
}

// JetStream API error code for "no message found" (ADR-31's non-direct get).
const API_NO_MESSAGE = 10037;

interface MsgGetResponse {
  readonly message?: { readonly subject?: string; readonly seq?: number; readonly data?: string };
  readonly error?: { readonly code?: number; readonly err_code?: number; readonly description?: string };
}

/**
 * The newest message stored on `subject` of `stream`, or undefined if there is none, answered by
 * the stream's leader (`$JS.API.STREAM.MSG.GET` with last_by_subj): what the leader has applied,
 * so a message it just refused a create-only publish for is there. A direct get (ADR-31) was used
 * before; any replica may answer one, and a follower that had not applied the message yet said
 * "absent" right after the leader said "taken" (seen when the stream lost and regained its
 * quorum: load-tests/test/broker.test.ts). One round trip through the leader instead.
 */
export async function lastBySubject(nc: NatsConnection, stream: string, subject: string, timeoutMs: number): Promise<StoredLast | undefined> {
  let reply: Msg;
  try {
    reply = await nc.request(`$JS.API.STREAM.MSG.GET.${stream}`, new TextEncoder().encode(JSON.stringify({ last_by_subj: subject })), { timeout: timeoutMs });
  } catch (err) {
    throw fromNatsError(err, `message get ${stream}`, subject);
  }
  let answer: MsgGetResponse;
  try {
    answer = JSON.parse(new TextDecoder().decode(reply.data)) as MsgGetResponse;
  } catch {
    throw new TransportError(TransportErrorCode.PROTOCOL, `message get ${stream}: reply is not JSON`, { details: { subject } });
  }
  if (answer.error !== undefined) {
    if (answer.error.err_code === API_NO_MESSAGE) return undefined;
    // Anything else (no leader yet, no quorum) is the stream being unavailable for now.
    throw new TransportError(TransportErrorCode.NO_RESPONDERS, `message get ${stream}: ${answer.error.description ?? 'error'} (${answer.error.err_code ?? '?'})`, { details: { subject } });
  }
  const message = answer.message;
  const seq = message?.seq;
  if (message?.subject !== subject || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    throw new TransportError(TransportErrorCode.PROTOCOL, `message get ${stream}: reply without sequence or for another subject`, { details: { subject } });
  }
  // An empty payload comes without a data field.
  return { seq, data: new Uint8Array(Buffer.from(message.data ?? '', 'base64')) };
}
