// A real local cluster for the SDK's end-to-end tests: nats-server (testkit), one shard process per
// shard, the ingest gateway and the proof service, each a child process running its built dist
// entry, with temporary data dirs and HTTP on 127.0.0.1. Services are started by file path (libs
// never import services). Every wait is bounded; every child is killed when the test process exits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKeyPair } from '@cairn/checkpoint';
import { repoRoot, startNatsServer, tempDir, type NatsServer, type TempDir } from '@cairn/testkit';

export const PROC_READY_MS_MAX = 30_000;
export const PROC_STOP_MS_MAX = 10_000;
const OUTPUT_CHARS_MAX = 50_000;
const BUILD_MS_MAX = 180_000;

const root = repoRoot();
const services = ['shard', 'ingest', 'proof'] as const;
const mainOf = (service: string): string => join(root, 'services', service, 'dist', 'src', 'main.js');

/**
 * The services' dist entries. @cairn/client cannot depend on @cairn/proof (the proof service's CLI
 * depends on this package), so the build graph does not order them: build what is missing.
 */
export function ensureServicesBuilt(): void {
  for (const service of services) {
    if (existsSync(mainOf(service))) continue;
    const built = spawnSync('npm', ['run', 'build', '-w', `@cairn/${service}`], { cwd: root, stdio: 'inherit', timeout: BUILD_MS_MAX });
    if (built.status !== 0 || !existsSync(mainOf(service))) throw new Error(`could not build services/${service}`);
  }
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

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
      const match = this.output.slice(Math.max(0, Math.min(from, this.output.length) - 1)).match(this.ready);
      if (match !== null) return match;
      if (child.exitCode !== null) break;
      await sleep(20);
    }
    throw new Error(`${this.name} not ready (exit ${String(child.exitCode)}):\n${this.output.slice(-4000)}`);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const done = await Promise.race([this.#exited.then(() => true), sleep(PROC_STOP_MS_MAX).then(() => false)]);
    if (!done) {
      this.child?.kill('SIGKILL');
      await this.#exited;
    }
  }
}

export interface ClusterOptions {
  readonly shards: number;
  readonly origin: string;
  readonly epochIntervalMs: number;
}

export class Cluster {
  readonly shardProcs: Proc[] = [];
  readonly shardDirs: string[] = [];
  readonly dirs: TempDir[] = [];
  readonly verifierKey: string;
  readonly signerKey: string;
  ingest!: Proc;
  proof!: Proc;
  ingestUrl = '';
  proofUrl = '';
  proofDir = '';

  private constructor(
    readonly nats: NatsServer,
    readonly options: ClusterOptions,
  ) {
    const pair = generateKeyPair(options.origin, new Uint8Array(32).fill(42));
    this.verifierKey = pair.verifierKey;
    this.signerKey = pair.signerKey;
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    ensureServicesBuilt();
    const nats = await startNatsServer();
    const cluster = new Cluster(nats, options);
    try {
      await cluster.#init();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  async #init(): Promise<void> {
    const common = { CAIRN_NATS_URL: this.nats.url, CAIRN_SHARDS: String(this.options.shards) };
    for (let s = 0; s < this.options.shards; s += 1) {
      const dir = tempDir(`client-shard${s}`);
      this.dirs.push(dir);
      this.shardDirs.push(dir.path);
      this.shardProcs.push(new Proc(`shard ${s}`, mainOf('shard'), { ...common, CAIRN_SHARD: String(s), CAIRN_DATA_DIR: dir.path }, /serving shard/));
    }
    this.ingest = new Proc('ingest', mainOf('ingest'), { ...common, CAIRN_INGEST_PORT: '0' }, /listening on (http:\/\/[0-9.:]+)/);
    this.ingestUrl = (await this.ingest.start())[1] as string;
    await Promise.all(this.shardProcs.map((p) => p.start()));
    const proofDir = tempDir('client-proof');
    this.dirs.push(proofDir);
    this.proofDir = proofDir.path;
    this.proof = new Proc(
      'proof',
      mainOf('proof'),
      {
        ...common,
        CAIRN_PROOF_PORT: '0',
        CAIRN_ORIGIN: this.options.origin,
        CAIRN_SIGNER_KEY: this.signerKey,
        CAIRN_PROOF_DATA_DIR: this.proofDir,
        CAIRN_EPOCH_INTERVAL_MS: String(this.options.epochIntervalMs),
      },
      /listening on (http:\/\/[0-9.:]+)/,
    );
    await this.startProof();
  }

  async startProof(): Promise<void> {
    this.proofUrl = (await this.proof.start())[1] as string;
  }

  /** Stops shard `s`, runs `edit` on its data dir (the process holds the RocksDB lock while it runs), restarts it. */
  async withShardStopped(s: number, edit: (dir: string) => Promise<void>): Promise<void> {
    const proc = this.shardProcs[s] as Proc;
    await proc.stop();
    try {
      await edit(this.shardDirs[s] as string);
    } finally {
      await proc.start();
    }
  }

  /** Stops the proof service, copies its data dir to `to`, restarts it. */
  async snapshotProof(to: string): Promise<void> {
    await this.proof.stop();
    cpSync(this.proofDir, to, { recursive: true });
    await this.startProof();
  }

  /** Stops the proof service, replaces its data dir with the copy at `from`, restarts it. */
  async restoreProof(from: string): Promise<void> {
    await this.proof.stop();
    rmSync(this.proofDir, { recursive: true, force: true });
    cpSync(from, this.proofDir, { recursive: true });
    await this.startProof();
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.proof?.stop(), this.ingest?.stop(), ...this.shardProcs.map((p) => p.stop())]);
    await this.nats.stop();
    for (const dir of this.dirs) dir.remove();
  }

  logs(): string {
    return [this.proof, this.ingest, ...this.shardProcs].map((p) => `--- ${p?.name}\n${p?.output.slice(-2500)}`).join('\n');
  }
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
