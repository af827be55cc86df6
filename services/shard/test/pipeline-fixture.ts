// A deterministic message stream and the helpers the pipelining tests and their crash child share.
import { createHash } from 'node:crypto';
import { openStore, type Store } from '@cairn/storage';
import { encodeEpochMarker, encodeShardMessage, type TxPart } from '@cairn/wire';
import { Applier, storageLimitsForShard, type InboundMessage } from '../src/index.js';

const utf8 = new TextEncoder();
const KEYS = ['{a}:1', '{a}:2', '{b}:1', '{b}:2'];

export function part(id: string, key: string, value: string, expectVersion?: number): TxPart {
  const contentHash = new Uint8Array(createHash('sha256').update(`${id}|${key}|${value}|${String(expectVersion)}`).digest());
  const expect = expectVersion === undefined ? undefined : { version: expectVersion };
  return { id, contentHash, meta: utf8.encode('{}'), shards: [0], records: [{ key, value: utf8.encode(value), expect }] };
}

/**
 * `count` messages at seqs 2, 5, 8, ... (other shards' messages sit between): one or two
 * transactions each, a precondition now and then (some fail), an epoch marker every 7th.
 */
export function pipelineStream(count: number): InboundMessage[] {
  const out: InboundMessage[] = [];
  for (let i = 0; i < count; i += 1) {
    const seq = 3 * i + 2;
    if (i % 7 === 6) {
      out.push({ seq, data: encodeEpochMarker({ shard: 0, shardCount: 1, epoch: i }) });
      continue;
    }
    const txs: TxPart[] = [];
    for (let t = 0; t <= i % 2; t += 1) {
      const n = 2 * i + t;
      txs.push(part(`tx-${n}`, KEYS[n % KEYS.length] as string, `v${n}`, n % 5 === 0 ? 1 + (n % 3) : undefined));
    }
    out.push({ seq, data: encodeShardMessage({ shard: 0, txs }) });
  }
  return out;
}

export function openTestStore(dir: string, appendQueueMax?: number): Promise<Store> {
  const limits = appendQueueMax === undefined ? storageLimitsForShard : { ...storageLimitsForShard, append_queue_max: appendQueueMax };
  return openStore({ dir, limits, pool: false });
}

export interface ApplierSetup {
  readonly merge: number;
  readonly inflight: number;
  readonly publish: (event: Uint8Array) => void;
  readonly log?: (line: string) => void;
}

export function newApplier(store: Store, s: ApplierSetup): Applier {
  return new Applier(store, {
    layout: { shard: 0, shards: 1 },
    limits: { merge_msgs_max: s.merge, merge_records_max: 100_000, merge_bytes_max: 1 << 30 },
    boundaries_max: 4_096,
    appends_inflight_max: s.inflight,
    publish: s.publish,
    log: s.log ?? (() => undefined),
  });
}

export async function applyInPulls(a: Applier, msgs: readonly InboundMessage[], pull: number): Promise<void> {
  for (let i = 0; i < msgs.length; i += pull) await a.apply(msgs.slice(i, i + pull));
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
