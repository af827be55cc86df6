// From consumed stream messages to storage appends, without I/O: decode each message, then group
// consecutive transaction messages into runs that become one storage append each. Pure, so the
// rules that keep epochs exact (a marker is always alone) are tested without NATS or RocksDB.
import type { StorageLimits, TxInput } from '@cairn/storage';
import {
  CairnError,
  decodeEpochMarker,
  decodeShardMessage,
  epochMarkerKind,
  leafEncodedBytes,
  messageKind,
  utf8Length,
  wireKind,
  type DecodedTxPart,
  type EpochMarker,
} from '@cairn/wire';
import { ShardError } from './errors.js';

export interface InboundMessage {
  readonly seq: number;
  readonly data: Uint8Array;
  /** The server sent it before (counted for metrics only; the sequence decides what is skipped). */
  readonly redelivered?: boolean;
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

const CONTENT_HASH_BYTES = 32;

/**
 * Why the store would refuse the run's input (a StorageError the shard treats as an input error),
 * or undefined when it is sure to accept it. The apply loop queues an append behind another only
 * when the one before it passed this check: the store decides queued appends on the assumption
 * that earlier ones commit, so a refusal with appends queued behind it would let a later sequence
 * commit over the refused messages (docs/design/shard.md, "Apply loop").
 *
 * It mirrors the store's input checks (libs/storage/src/input.ts, prepareBatch) for what the wire
 * decoder leaves open: the decoder already guarantees non-empty, well-formed UTF-8 ids and keys of
 * at most 65,535 bytes, 32-byte content hashes and non-empty record lists; the bounds are checked
 * again here anyway because they are the store's to choose. A test holds the two in step.
 */
export function storeRefusal(run: Run, limits: StorageLimits): string | undefined {
  if (!Number.isSafeInteger(run.seq) || run.seq < 1) return `seq ${run.seq}`;
  let txs = 0;
  let records = 0;
  let bytes = 0;
  for (const msg of run.msgs) {
    if (msg.kind !== 'txs') continue;
    for (const tx of msg.txs) {
      const idBytes = utf8Length(tx.id);
      const refusal = txRefusal(tx, idBytes, limits);
      if (refusal !== undefined) return `message ${msg.seq}: tx ${tx.id.slice(0, 64)}: ${refusal}`;
      txs += 1;
      records += tx.records.length;
      bytes += idBytes + tx.meta.length;
      for (const r of tx.records) bytes += leafEncodedBytes(idBytes, r.keyBytes.length) + r.value.length;
    }
  }
  if (txs > limits.batch_txs_max) return `${txs} transactions, above batch_txs_max ${limits.batch_txs_max}`;
  if (records > limits.batch_records_max) return `${records} records, above batch_records_max ${limits.batch_records_max}`;
  if (bytes > limits.batch_bytes_max) return `${bytes} bytes, above batch_bytes_max ${limits.batch_bytes_max}`;
  return undefined;
}

function txRefusal(tx: DecodedTxPart, idBytes: number, limits: StorageLimits): string | undefined {
  if (idBytes === 0 || idBytes > limits.tx_id_bytes_max) return `id of ${idBytes} bytes`;
  if (tx.contentHash.length !== CONTENT_HASH_BYTES) return `content hash of ${tx.contentHash.length} bytes`;
  if (tx.meta.length > limits.meta_bytes_max) return `meta of ${tx.meta.length} bytes`;
  if (tx.records.length === 0 || tx.records.length > limits.tx_records_max) return `${tx.records.length} records`;
  for (const r of tx.records) {
    if (r.keyBytes.length === 0 || r.keyBytes.length > limits.key_bytes_max) return `key of ${r.keyBytes.length} bytes`;
    if (r.value.length > limits.value_bytes_max) return `value of ${r.value.length} bytes`;
    const expect = r.expect;
    if (expect !== undefined && 'version' in expect && !(Number.isSafeInteger(expect.version) && expect.version >= 1)) {
      return `expect version ${expect.version}`;
    }
  }
  return undefined;
}
