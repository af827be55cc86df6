// The end-to-end cluster of @cairn/testkit (nats-server, shard workers, the ingest gateway), plus
// what only the shard's tests need: a NATS transport to read the shards through their read API
// and to seal epochs the way the proof service does.
import { setTimeout as sleep } from 'node:timers/promises';
import { leafHash, verifyInclusion } from '@cairn/merkle';
import { connectTransport, shardSubject, streamLayout, type AtomicBatchAck, type Transport } from '@cairn/transport';
import { Cluster as BaseCluster } from '@cairn/testkit';
import { encodeEpochMarker, encodeLeaf } from '@cairn/wire';
import { ShardError, ShardReadClient, type LeafJson } from '../src/index.js';

export class Cluster extends BaseCluster {
  readonly layout = streamLayout({ shard_count: this.options.shards });
  readers: ShardReadClient[] = [];
  transport!: Transport;

  protected override async init(): Promise<void> {
    await super.init();
    this.transport = await connectTransport({ servers: this.nats.url, layout: this.layout, name: 'cairn-test' });
    this.readers = this.shardProcs.map((_, s) => new ShardReadClient(this.transport, s));
  }

  /** Seals an epoch the way the proof service will: one marker per shard in one atomic batch. */
  async seal(epoch: number): Promise<AtomicBatchAck> {
    const shards = this.options.shards;
    const msgs = [];
    for (let s = 0; s < shards; s += 1) {
      msgs.push({ subject: shardSubject(this.layout, s), data: encodeEpochMarker({ shard: s, shardCount: shards, epoch }), msgId: `epoch-${epoch}-${s}` });
    }
    return this.transport.publishAtomic(msgs);
  }

  override async stop(): Promise<void> {
    await this.transport?.close().catch(() => undefined);
    await super.stop();
  }
}

export interface HttpAnswer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: Record<string, unknown>;
}

export async function post(url: string, body: unknown, timeoutMs = 30_000): Promise<HttpAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

export interface Receipt {
  id: string;
  status: string;
  replayed?: boolean;
  records: { key: string; version: number; shard: number; leafIndex: number }[];
  shards: { shard: number; size: number; root: string }[];
}

const fromB64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

/** The Merkle leaf hash of a leaf as the read API returns it. */
export function leafHashOf(leaf: LeafJson): Uint8Array {
  return leafHash(encodeLeaf({ txId: leaf.txId, key: leaf.key, version: leaf.version, valueHash: fromB64(leaf.valueHash), metaHash: fromB64(leaf.metaHash) }));
}

/**
 * Checks a receipt against the shards' read API: each record's leaf is the one the receipt names,
 * and its inclusion proof at the receipt's size verifies against the receipt's root.
 */
export async function verifyReceipt(cluster: Cluster, receipt: Receipt): Promise<void> {
  for (const record of receipt.records) {
    const head = receipt.shards.find((s) => s.shard === record.shard);
    if (head === undefined) throw new Error(`receipt names no head for shard ${record.shard}`);
    const reader = cluster.readers[record.shard] as ShardReadClient;
    const { leaf } = await reader.leaf(record.leafIndex);
    if (leaf.key !== record.key || leaf.version !== record.version || leaf.txId !== receipt.id) {
      throw new Error(`leaf ${record.leafIndex} of shard ${record.shard} is ${JSON.stringify(leaf)}, receipt says ${JSON.stringify(record)}`);
    }
    const proof = await reader.inclusion(record.leafIndex, head.size);
    if (proof.root !== head.root) throw new Error(`shard ${record.shard} root at ${head.size} differs from the receipt`);
    verifyInclusion(leafHashOf(leaf), record.leafIndex, head.size, proof.proof.map(fromB64), fromB64(proof.root));
  }
}

/** Polls `check` until it returns true, at most `ms`. */
export async function until(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** The ShardError code a call rejected with, or 'no error'; any other failure is rethrown. */
export async function shardErrorCode(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ShardError) return error.code;
    throw error;
  }
  return 'no error';
}
