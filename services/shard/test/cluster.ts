// A real local cluster for the end-to-end tests: nats-server (testkit), shard workers and the ingest
// gateway as child processes running their built dist entries, temporary RocksDB directories, real
// HTTP on 127.0.0.1. Every wait is bounded; every child is killed when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { leafHash, verifyInclusion } from '@cairn/merkle';
import { connectTransport, shardSubject, streamLayout, type AtomicBatchAck, type Transport } from '@cairn/transport';
import { repoRoot, startNatsServer, tempDir, type NatsServer, type TempDir } from '@cairn/testkit';
import { encodeEpochMarker, encodeLeaf } from '@cairn/wire';
import { ShardReadClient, type LeafJson } from '../src/index.js';

export const PROC_READY_MS_MAX = 20_000;
export const PROC_STOP_MS_MAX = 10_000;
const OUTPUT_CHARS_MAX = 200_000;

const root = repoRoot();
export const shardMain = join(root, 'services', 'shard', 'dist', 'src', 'main.js');
export const ingestMain = join(root, 'services', 'ingest', 'dist', 'src', 'main.js');

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** One child process whose output is kept (bounded) and searched for a readiness line. */
export class Proc {
  child: ChildProcess | undefined;
  output = '';
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly file: string,
    private readonly env: Record<string, string>,
    private readonly ready: RegExp,
  ) {}

  async start(): Promise<RegExpMatchArray> {
    const from = this.output.length;
    const child = spawn(process.execPath, [this.file], { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    live.add(child);
    const take = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_CHARS_MAX);
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + PROC_READY_MS_MAX;
    while (Date.now() < deadline) {
      const match = this.output.slice(Math.max(0, from - 1)).match(this.ready);
      if (match !== null) return match;
      if (child.exitCode !== null) break;
      await sleep(20);
    }
    throw new Error(`${this.name} not ready (exit ${String(child.exitCode)}):\n${this.output.slice(-4000)}`);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL, as a crash. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, SIGKILL after PROC_STOP_MS_MAX. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    // The timer is cancelled once the child exits, so it never holds the test process open.
    const timeout = new AbortController();
    const done = await Promise.race([
      this.exited.then(() => true),
      sleep(PROC_STOP_MS_MAX, false, { signal: timeout.signal }).catch(() => false),
    ]);
    timeout.abort();
    if (!done) await this.kill();
  }
}

export interface ClusterOptions {
  readonly shards?: number;
  readonly startShards?: boolean;
  readonly shardEnv?: Record<string, string>;
  readonly ingestEnv?: Record<string, string>;
}

export class Cluster {
  readonly layout;
  readonly shardProcs: Proc[] = [];
  readonly dirs: TempDir[] = [];
  readers: ShardReadClient[] = [];
  ingest!: Proc;
  url = '';
  transport!: Transport;

  private constructor(
    readonly nats: NatsServer,
    readonly shards: number,
    private readonly options: ClusterOptions,
  ) {
    this.layout = streamLayout({ shard_count: shards });
  }

  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const nats = await startNatsServer();
    const cluster = new Cluster(nats, options.shards ?? 2, options);
    try {
      await cluster.init();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  private async init(): Promise<void> {
    for (let s = 0; s < this.shards; s += 1) {
      const dir = tempDir(`shard${s}`);
      this.dirs.push(dir);
      this.shardProcs.push(this.shardProc(s, dir.path, `shard-${s}`));
    }
    this.ingest = new Proc('ingest', ingestMain, {
      CAIRN_NATS_URL: this.nats.url,
      CAIRN_SHARDS: String(this.shards),
      CAIRN_INGEST_PORT: '0',
      ...this.options.ingestEnv,
    }, /listening on (http:\/\/[0-9.:]+)/);
    const match = await this.ingest.start();
    this.url = match[1] as string;
    if (this.options.startShards !== false) await Promise.all(this.shardProcs.map((p) => p.start()));
    this.transport = await connectTransport({ servers: this.nats.url, layout: this.layout, name: 'cairn-test' });
    this.readers = this.shardProcs.map((_, s) => new ShardReadClient(this.transport, s));
  }

  /** A shard worker process (not started) on `dir` with its own durable name. */
  shardProc(shard: number, dir: string, durable: string, env: Record<string, string> = {}): Proc {
    return new Proc(`shard ${shard}`, shardMain, {
      CAIRN_NATS_URL: this.nats.url,
      CAIRN_SHARD: String(shard),
      CAIRN_SHARDS: String(this.shards),
      CAIRN_DATA_DIR: dir,
      CAIRN_SHARD_DURABLE: durable,
      ...this.options.shardEnv,
      ...env,
    }, /serving shard/);
  }

  /** Seals an epoch the way the proof service will: one marker per shard in one atomic batch. */
  async seal(epoch: number): Promise<AtomicBatchAck> {
    const msgs = [];
    for (let s = 0; s < this.shards; s += 1) {
      msgs.push({ subject: shardSubject(this.layout, s), data: encodeEpochMarker({ shard: s, shardCount: this.shards, epoch }), msgId: `epoch-${epoch}-${s}` });
    }
    return this.transport.publishAtomic(msgs);
  }

  async stop(): Promise<void> {
    await this.transport?.close().catch(() => undefined);
    await Promise.allSettled([this.ingest?.stop(), ...this.shardProcs.map((p) => p.stop())]);
    await this.nats.stop();
    for (const dir of this.dirs) dir.remove();
  }

  /** Everything the processes printed, for a failing assertion's message. */
  logs(): string {
    return [this.ingest, ...this.shardProcs].map((p) => `--- ${p?.name}\n${p?.output.slice(-3000)}`).join('\n');
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
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

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
    if (hex(fromB64(proof.root)) !== head.root) throw new Error(`shard ${record.shard} root at ${head.size} differs from the receipt`);
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
