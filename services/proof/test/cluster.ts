// A real local cluster for the proof service's end-to-end tests: nats-server (testkit), shard
// workers, the ingest gateway and the proof service as child processes running their built dist
// entries, temporary RocksDB directories, HTTP on 127.0.0.1. Every wait is bounded; every child is
// killed when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openCheckpoint, parseVerifierKey, type Checkpoint } from '@cairn/checkpoint';
import { leafHash, verifyInclusion } from '@cairn/merkle';
import { repoRoot, startNatsServer, tempDir, type NatsServer, type TempDir } from '@cairn/testkit';
import { decodeGlobalState, encodeLeaf, shardOfKey, stateLogEntry, type GlobalState, type LeafEntry } from '@cairn/wire';

export const PROC_READY_MS_MAX = 20_000;
export const PROC_STOP_MS_MAX = 10_000;
const OUTPUT_CHARS_MAX = 100_000;

const root = repoRoot();
export const shardMain = join(root, 'services', 'shard', 'dist', 'src', 'main.js');
export const ingestMain = join(root, 'services', 'ingest', 'dist', 'src', 'main.js');
export const proofMain = join(root, 'services', 'proof', 'dist', 'src', 'main.js');
export const cliMain = join(root, 'services', 'proof', 'dist', 'src', 'cli.js');

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** One child process whose output is kept (bounded) and searched for a readiness line. */
export class Proc {
  child: ChildProcess | undefined;
  output = '';
  #exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly file: string,
    readonly env: Record<string, string>,
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
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
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

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.#exited;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const done = await Promise.race([this.#exited.then(() => true), sleep(PROC_STOP_MS_MAX).then(() => false)]);
    if (!done) await this.kill();
  }
}

export interface ClusterOptions {
  readonly shards: number;
  readonly origin: string;
  readonly signerKey: string;
  readonly epochIntervalMs: number;
}

export class Cluster {
  readonly shardProcs: Proc[] = [];
  readonly dirs: TempDir[] = [];
  ingest!: Proc;
  proof!: Proc;
  ingestUrl = '';
  proofUrl = '';
  proofDir!: TempDir;

  private constructor(
    readonly nats: NatsServer,
    readonly o: ClusterOptions,
  ) {}

  static async start(o: ClusterOptions): Promise<Cluster> {
    const nats = await startNatsServer();
    const cluster = new Cluster(nats, o);
    try {
      await cluster.init();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  private async init(): Promise<void> {
    const common = { CAIRN_NATS_URL: this.nats.url, CAIRN_SHARDS: String(this.o.shards) };
    for (let s = 0; s < this.o.shards; s += 1) {
      const dir = tempDir(`proof-shard${s}`);
      this.dirs.push(dir);
      this.shardProcs.push(new Proc(`shard ${s}`, shardMain, { ...common, CAIRN_SHARD: String(s), CAIRN_DATA_DIR: dir.path }, /serving shard/));
    }
    this.ingest = new Proc('ingest', ingestMain, { ...common, CAIRN_INGEST_PORT: '0' }, /listening on (http:\/\/[0-9.:]+)/);
    this.ingestUrl = (await this.ingest.start())[1] as string;
    await Promise.all(this.shardProcs.map((p) => p.start()));
    this.proofDir = tempDir('proof-state');
    this.dirs.push(this.proofDir);
    this.proof = new Proc(
      'proof',
      proofMain,
      {
        ...common,
        CAIRN_PROOF_PORT: '0',
        CAIRN_ORIGIN: this.o.origin,
        CAIRN_SIGNER_KEY: this.o.signerKey,
        CAIRN_PROOF_DATA_DIR: this.proofDir.path,
        CAIRN_EPOCH_INTERVAL_MS: String(this.o.epochIntervalMs),
      },
      /listening on (http:\/\/[0-9.:]+)/,
    );
    await this.startProof();
  }

  async startProof(): Promise<void> {
    this.proofUrl = (await this.proof.start())[1] as string;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.proof?.stop(), this.ingest?.stop(), ...this.shardProcs.map((p) => p.stop())]);
    await this.nats.stop();
    for (const dir of this.dirs) dir.remove();
  }

  logs(): string {
    return [this.proof, this.ingest, ...this.shardProcs].map((p) => `--- ${p?.name}\n${p?.output.slice(-3000)}`).join('\n');
  }
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: Record<string, unknown>;
}

export async function http(url: string, init: { method?: string; body?: unknown; accept?: string } = {}, timeoutMs = 30_000): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.accept !== undefined) headers['accept'] = init.accept;
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  if (text.startsWith('{')) body = JSON.parse(text) as Record<string, unknown>;
  return { status: res.status, headers: res.headers, text, body };
}

/** Polls `check` until it returns a value, at most `ms`. */
export async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(40);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

// ---- verification, written against the contract (docs/design/proofs.md) with the libraries only.

export const fromB64 = (s: unknown): Uint8Array => {
  if (typeof s !== 'string') throw new Error(`expected base64, got ${JSON.stringify(s)}`);
  return new Uint8Array(Buffer.from(s, 'base64'));
};
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

export interface EntryJson {
  txId: string;
  key: string;
  version: number;
  valueHash: string;
  metaHash: string;
}
export interface StateJson {
  index: number;
  bytes: string;
  entry: EntryJson;
  inclusion: string[];
}
export interface RecordJson {
  shard: number;
  leafIndex: number;
  entry: EntryJson;
  value: string | null;
  erased: boolean;
  meta: string;
  inclusion: string[];
}

export function entryOf(e: EntryJson): LeafEntry {
  return { txId: e.txId, key: e.key, version: e.version, valueHash: fromB64(e.valueHash), metaHash: fromB64(e.metaHash) };
}

/** Opens a signed note with the pinned verifier key and origin; throws on any mismatch. */
export function openNote(note: string, verifierKey: string, origin: string): Checkpoint {
  return openCheckpoint(note, [parseVerifierKey(verifierKey)], { origin }).checkpoint;
}

/** State leaf -> state-log root at `size`; returns the decoded global state. */
export function verifyState(s: StateJson, size: number, logRoot: Uint8Array, origin: string): GlobalState {
  const bytes = fromB64(s.bytes);
  const state = decodeGlobalState(bytes);
  if (state.origin !== origin) throw new Error(`state origin ${state.origin}`);
  if (s.index !== state.epoch - 1) throw new Error(`state index ${s.index} for epoch ${state.epoch}`);
  const expected = stateLogEntry(state.epoch, bytes);
  const leaf = encodeLeaf(expected);
  // The convenience entry must be exactly the recomputed one.
  if (!equal(encodeLeaf(entryOf(s.entry)), leaf)) throw new Error('state entry differs from the recomputed one');
  verifyInclusion(leafHash(leaf), s.index, size, s.inclusion.map(fromB64), logRoot);
  return state;
}

/** Record leaf -> shard root in `state`; checks value and meta hashes and the key's shard. */
export function verifyRecord(r: RecordJson, state: GlobalState, shards: number): void {
  const entry = entryOf(r.entry);
  if (r.value !== null && !equal(sha256(fromB64(r.value)), entry.valueHash)) throw new Error('value hash mismatch');
  if (!equal(sha256(fromB64(r.meta)), entry.metaHash)) throw new Error('meta hash mismatch');
  if (shardOfKey(entry.key, shards) !== r.shard) throw new Error(`key ${entry.key} is not on shard ${r.shard}`);
  const head = state.shards[r.shard];
  if (head === undefined) throw new Error(`no shard ${r.shard} in the state`);
  verifyInclusion(leafHash(encodeLeaf(entry)), r.leafIndex, head.size, r.inclusion.map(fromB64), head.root);
}

export function valueOf(r: RecordJson): unknown {
  return r.value === null ? null : JSON.parse(Buffer.from(fromB64(r.value)).toString('utf8'));
}
