// From consumed stream messages to storage appends, without I/O: decode each message, then group
// consecutive transaction messages into runs that become one storage append each. Pure, so the
// rules that keep epochs exact (a marker is always alone) are tested without NATS or RocksDB.
import type { TxInput } from '@cairn/storage';
import {
  CairnError,
  decodeEpochMarker,
  decodeShardMessage,
  epochMarkerKind,
  messageKind,
  wireKind,
  type DecodedTxPart,
  type EpochMarker,
} from '@cairn/wire';
import { ShardError } from './errors.js';

export interface InboundMessage {
  readonly seq: number;
  readonly data: Uint8Array;
}

/** One stream message as the shard understood it. */
export type Decoded =
  | { readonly kind: 'txs'; readonly seq: number; readonly txs: readonly DecodedTxPart[]; readonly records: number; readonly bytes: number }
  | { readonly kind: 'marker'; readonly seq: number; readonly marker: EpochMarker }
  // Bytes this code refuses (malformed, another shard's): applied as an empty message so one bad
  // message cannot wedge the shard, and so that a replay makes the same decision (determinism).
  | { readonly kind: 'rejected'; readonly seq: number; readonly reason: string };

export interface Layout {
  readonly shard: number;
  readonly shards: number;
}

/**
 * Decodes one message. A wire_version error is thrown, not rejected: the message came from newer
 * code, and skipping it would silently drop transactions; the worker stops until it is upgraded.
 */
export function decodeMessage(msg: InboundMessage, layout: Layout): Decoded {
  try {
    const kind = messageKind(msg.data);
    if (kind === epochMarkerKind) return decodeMarker(msg, layout);
    if (kind !== wireKind.shardMessage) return rejected(msg.seq, `unknown message kind ${kind}`);
    const message = decodeShardMessage(msg.data);
    if (message.shard !== layout.shard) return rejected(msg.seq, `message for shard ${message.shard}`);
    let records = 0;
    for (const tx of message.txs) records += tx.records.length;
    return { kind: 'txs', seq: msg.seq, txs: message.txs, records, bytes: msg.data.length };
  } catch (error) {
    if (error instanceof CairnError && error.code === 'wire_version') {
      throw new ShardError('SHARD_WIRE_VERSION', `message ${msg.seq}: ${error.message}; upgrade this shard`, { cause: error });
    }
    if (error instanceof CairnError) return rejected(msg.seq, `${error.code}: ${error.message}`);
    throw error;
  }
}

function decodeMarker(msg: InboundMessage, layout: Layout): Decoded {
  const marker = decodeEpochMarker(msg.data);
  if (marker.shard !== layout.shard || marker.shardCount !== layout.shards) {
    return rejected(msg.seq, `marker for shard ${marker.shard} of ${marker.shardCount}`);
  }
  return { kind: 'marker', seq: msg.seq, marker };
}

function rejected(seq: number, reason: string): Decoded {
  return { kind: 'rejected', seq, reason };
}

export interface RunLimits {
  readonly merge_msgs_max: number;
  readonly merge_records_max: number;
  readonly merge_bytes_max: number;
}

/** One storage append: the messages it covers, in order; its seq is the last message's. */
export interface Run {
  readonly msgs: readonly Decoded[];
  readonly seq: number;
}

/**
 * Groups messages (in stream order) into runs. Rules, and why:
 * - a marker or a rejected message is a run of its own: the store then records the head at
 *   exactly its sequence, which is the epoch cut (docs/design/shard.md, "Epochs");
 * - transaction messages merge while the run stays within merge_msgs_max, merge_records_max and
 *   merge_bytes_max (one synced write for many messages); a single message over a bound is still
 *   a run of its own, never split, because a message is the unit of atomicity.
 */
export function planRuns(msgs: readonly Decoded[], limits: RunLimits): Run[] {
  const runs: Run[] = [];
  let current: Decoded[] = [];
  let records = 0;
  let bytes = 0;
  const close = (): void => {
    if (current.length === 0) return;
    runs.push({ msgs: current, seq: (current[current.length - 1] as Decoded).seq });
    current = [];
    records = 0;
    bytes = 0;
  };
  let lastSeq = 0;
  for (const msg of msgs) {
    if (msg.seq <= lastSeq) throw new ShardError('SHARD_INTERNAL', `messages out of order: ${msg.seq} after ${lastSeq}`);
    lastSeq = msg.seq;
    if (msg.kind !== 'txs') {
      close();
      runs.push({ msgs: [msg], seq: msg.seq });
      continue;
    }
    const fits =
      current.length < limits.merge_msgs_max &&
      records + msg.records <= limits.merge_records_max &&
      bytes + msg.bytes <= limits.merge_bytes_max;
    if (!fits) close();
    current.push(msg);
    records += msg.records;
    bytes += msg.bytes;
  }
  close();
  return runs;
}

/** The storage transactions of a run, in message order. */
export function runTxs(run: Run): TxInput[] {
  const txs: TxInput[] = [];
  for (const msg of run.msgs) {
    if (msg.kind !== 'txs') continue;
    for (const part of msg.txs) txs.push(toTxInput(part));
  }
  return txs;
}

function toTxInput(part: DecodedTxPart): TxInput {
  return {
    id: part.id,
    contentHash: part.contentHash,
    meta: part.meta,
    records: part.records.map((r) => (r.expect === undefined ? { key: r.key, value: r.value } : { key: r.key, value: r.value, expect: r.expect })),
  };
}
