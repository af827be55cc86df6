// The LedgerPort on @cairn/transport, and the gateway's session number.
import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, StorageType, DiscardPolicy, RetentionPolicy } from '@nats-io/jetstream';
import { isTransportError, shardSubject, TransportErrorCode, type Transport } from '@cairn/transport';
import { CairnError } from '@cairn/wire';
import type { LedgerMessage, LedgerPort, PublishResult } from './ledger.js';

export function natsLedger(transport: Transport, retryAfterSeconds: number): LedgerPort {
  const layout = transport.layout;
  const link = watchLink(transport);
  return {
    async publishAtomic(messages: readonly LedgerMessage[]): Promise<PublishResult> {
      const outbound = messages.map((m) => ({ subject: shardSubject(layout, m.shard), data: m.data, msgId: m.msgId }));
      try {
        const ack = await transport.publishAtomic(outbound);
        if (ack.count !== messages.length) throw new CairnError('internal', `broker stored ${ack.count} of ${messages.length} messages`);
        return { kind: 'stored', firstSeq: ack.firstSeq };
      } catch (error) {
        if (isTransportError(error, TransportErrorCode.DUPLICATE)) return { kind: 'duplicate' };
        throw mapError(error, retryAfterSeconds);
      }
    },
    connected(): boolean {
      return link.up && !transport.nc.isClosed();
    },
  };
}

// nats.js reports connection changes as a status stream; /healthz reads the last one.
function watchLink(transport: Transport): { up: boolean } {
  const link = { up: true };
  void (async () => {
    for await (const s of transport.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'close') link.up = false;
      else if (s.type === 'reconnect') link.up = true;
    }
  })().catch(() => {
    link.up = false;
  });
  return link;
}

// Broker failures as the gateway's errors; shared with the id claims (claims.ts).
export function mapError(error: unknown, retryAfterSeconds: number): CairnError {
  if (error instanceof CairnError) return error;
  if (!isTransportError(error)) return new CairnError('internal', 'publish failed', { cause: error });
  const retry = { cause: error, retryAfterSeconds };
  switch (error.code) {
    case TransportErrorCode.BACKPRESSURE:
      return new CairnError('backpressure', 'the broker is busy', retry);
    case TransportErrorCode.TIMEOUT:
      return new CairnError('timeout', 'the broker did not confirm in time; the outcome is unknown: retry with the same id', { cause: error });
    // The server refused the atomic batch and stored none of it (a message lost on the way, a
    // leader change): the same transactions may be sent again.
    case TransportErrorCode.BATCH_REJECTED:
      return new CairnError('unavailable', 'the broker refused the batch; nothing of it was stored', retry);
    case TransportErrorCode.CLOSED:
    case TransportErrorCode.CONNECT:
    case TransportErrorCode.NO_RESPONDERS:
    case TransportErrorCode.STREAM_NOT_FOUND:
      return new CairnError('unavailable', 'the broker is unavailable', retry);
    default:
      return new CairnError('internal', `publish failed: ${error.message}`, { cause: error });
  }
}

// A number no other gateway start ever had: the stream sequence of a message this start publishes
// to a small stream of its own. It comes from the broker's order of record, not from a clock or a
// random source, and survives restarts of the gateway. The stream denies delete and purge, and
// keeps only the newest few messages (the sequence keeps growing regardless).
export async function newSession(transport: Transport): Promise<number> {
  const nc = transport.nc;
  const name = `${transport.layout.stream}_INGEST`;
  const subject = `${transport.layout.subject_prefix}.ingest.session`;
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(name);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
    try {
      await jsm.streams.add({
        name,
        subjects: [subject],
        storage: StorageType.File,
        num_replicas: transport.layout.replicas,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_msgs: 16,
        deny_delete: true,
        deny_purge: true,
      });
    } catch (raced) {
      // Another gateway created it first; use it.
      await jsm.streams.info(name).catch(() => {
        throw raced;
      });
    }
  }
  const ack = await jetstream(nc).publish(subject, new Uint8Array(0));
  if (!Number.isSafeInteger(ack.seq) || ack.seq < 1) throw new CairnError('internal', `session stream gave sequence ${ack.seq}`);
  return ack.seq;
}
