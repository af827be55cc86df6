// A real local cluster for end-to-end tests: nats-server, one shard process per shard, the ingest
// gateway and, when asked, the proof service. Each service runs its built dist entry as a child
// process, started by file path: testkit is a lib and never imports services. Data lives in
// temporary directories, HTTP on 127.0.0.1; every wait is bounded.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNatsCluster, startNatsServer, type NatsCluster, type NatsServer } from './nats.js';
import { repoRoot } from './paths.js';
import { Proc } from './proc.js';
import { tempDir, type TempDir } from './tempdir.js';
import type { TestCert } from './tls.js';

const BUILD_MS_MAX = 180_000;
/** Output of each process shown by logs(), the newest characters. */
const LOG_TAIL_CHARS = 3_000;
const SHARD_READY = /serving shard/;
const HTTP_READY = /listening on (http:\/\/[0-9.:]+)/;

export type ServiceName = 'shard' | 'ingest' | 'proof';
const allServices: readonly ServiceName[] = ['shard', 'ingest', 'proof'];

/** The built entry file of a service: `main` by default, e.g. serviceEntry('proof', 'cli'). */
export function serviceEntry(service: ServiceName, entry = 'main'): string {
  return join(repoRoot(), 'services', service, 'dist', 'src', `${entry}.js`);
}

/**
 * Builds each service whose dist entry is missing. A lib's tests may run a cluster, but a lib
 * cannot depend on services, so the build graph does not order the services before it.
 */
export function ensureServicesBuilt(services: readonly ServiceName[] = allServices): void {
  for (const service of services) {
    const main = serviceEntry(service);
    if (existsSync(main)) continue;
    const built = spawnSync('npm', ['run', 'build', '-w', `@cairn/${service}`], { cwd: repoRoot(), stdio: 'inherit', timeout: BUILD_MS_MAX });
    if (built.status !== 0 || !existsSync(main)) throw new Error(`could not build services/${service}`);
  }
}

export interface ProofOptions {
  readonly origin: string;
  /** PRIVATE+KEY+... (generateKeyPair of @cairn/checkpoint). */
  readonly signerKey: string;
  readonly epochIntervalMs: number;
}

export interface ClusterOptions {
  readonly shards: number;
  /** Prefix of the temporary directories' names. */
  readonly name?: string;
  /** false: the shard processes are made but not started (start them through shardProcs). */
  readonly startShards?: boolean;
  /** Extra env of every shard process. */
  readonly shardEnv?: Record<string, string>;
  /** Extra env of the ingest. */
  readonly ingestEnv?: Record<string, string>;
  /** Runs the proof service too. */
  readonly proof?: ProofOptions;
  /**
   * Runs a JetStream cluster of this many nats-servers instead of one, and every service with all
   * their URLs and the stream replicated on 3 of them (CAIRN_REPLICAS): the broker then outlives
   * the loss of any one node.
   */
  readonly natsNodes?: number;
  /** The broker asks clients for this token; every service gets it in a file (CAIRN_NATS_TOKEN_FILE). */
  readonly natsToken?: string;
  /** The broker takes clients over TLS with this certificate; every service verifies it (CAIRN_NATS_CA_FILE). */
  readonly natsTls?: TestCert;
}

/** Stream replicas in a cluster started with natsNodes: the most one lost node leaves writable. */
export const CLUSTER_REPLICAS = 3;

export class Cluster {
  readonly shardProcs: Proc[] = [];
  readonly shardDirs: string[] = [];
  /** Removed by stop(); a test may add its own. */
  readonly dirs: TempDir[] = [];
  ingest!: Proc;
  ingestUrl = '';
  proofUrl = '';
  proofDir = '';
  #proof: Proc | undefined;

  /** The nats-server, or the first node of a NATS cluster (options.natsNodes). */
  readonly nats: NatsServer;
  /** The NATS cluster when options.natsNodes asked for one. */
  readonly natsCluster: NatsCluster | undefined;

  constructor(
    nats: NatsServer | NatsCluster,
    readonly options: ClusterOptions,
  ) {
    this.nats = 'nodes' in nats ? (nats.nodes[0] as NatsServer) : nats;
    this.natsCluster = 'nodes' in nats ? nats : undefined;
  }

  /** Starts nats-server (or a NATS cluster) and the services; stops whatever started if any part fails. */
  static async start<C extends Cluster>(this: new (nats: NatsServer | NatsCluster, options: ClusterOptions) => C, options: ClusterOptions): Promise<C> {
    const token = {
      ...(options.natsToken === undefined ? {} : { token: options.natsToken }),
      ...(options.natsTls === undefined ? {} : { tls: options.natsTls }),
    };
    const nats = options.natsNodes === undefined ? await startNatsServer(token) : await startNatsCluster({ nodes: options.natsNodes, ...token });
    const cluster = new this(nats, options);
    try {
      await cluster.init();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** CAIRN_NATS_TOKEN_FILE of every service, when options.natsToken is set. */
  #tokenFile = '';

  protected async init(): Promise<void> {
    const name = this.options.name ?? 'cluster';
    if (this.options.natsToken !== undefined) {
      const dir = tempDir(`${name}-secrets`);
      this.dirs.push(dir);
      this.#tokenFile = join(dir.path, 'nats-token');
      writeFileSync(this.#tokenFile, `${this.options.natsToken}\n`, { mode: 0o600 });
    }
    for (let s = 0; s < this.options.shards; s += 1) {
      const dir = tempDir(`${name}-shard${s}`);
      this.dirs.push(dir);
      this.shardDirs.push(dir.path);
      this.shardProcs.push(this.shardProc(s, dir.path));
    }
    this.ingest = new Proc('ingest', serviceEntry('ingest'), { ...this.#common(), CAIRN_INGEST_PORT: '0', ...this.options.ingestEnv }, HTTP_READY);
    this.ingestUrl = (await this.ingest.start())[1] as string;
    if (this.options.startShards !== false) await Promise.all(this.shardProcs.map((p) => p.start()));
    if (this.options.proof !== undefined) await this.#initProof(this.options.proof, name);
  }

  #common(): Record<string, string> {
    const common = {
      CAIRN_NATS_URL: this.nats.url,
      CAIRN_SHARDS: String(this.options.shards),
      ...(this.#tokenFile === '' ? {} : { CAIRN_NATS_TOKEN_FILE: this.#tokenFile }),
      ...(this.options.natsTls === undefined ? {} : { CAIRN_NATS_CA_FILE: this.options.natsTls.certFile }),
    };
    if (this.natsCluster === undefined) return common;
    return { ...common, CAIRN_NATS_URL: this.natsCluster.url, CAIRN_REPLICAS: String(CLUSTER_REPLICAS) };
  }

  /** A shard process (not started) on `dir` with its own durable consumer name. */
  shardProc(shard: number, dir: string, durable = `shard-${shard}`, env: Record<string, string> = {}): Proc {
    return new Proc(
      `shard ${shard}`,
      serviceEntry('shard'),
      { ...this.#common(), CAIRN_SHARD: String(shard), CAIRN_DATA_DIR: dir, CAIRN_SHARD_DURABLE: durable, ...this.options.shardEnv, ...env },
      SHARD_READY,
    );
  }

  async #initProof(o: ProofOptions, name: string): Promise<void> {
    const dir = tempDir(`${name}-proof`);
    this.dirs.push(dir);
    this.proofDir = dir.path;
    const env = {
      ...this.#common(),
      CAIRN_PROOF_PORT: '0',
      CAIRN_ORIGIN: o.origin,
      CAIRN_SIGNER_KEY: o.signerKey,
      CAIRN_PROOF_DATA_DIR: dir.path,
      CAIRN_EPOCH_INTERVAL_MS: String(o.epochIntervalMs),
    };
    this.#proof = new Proc('proof', serviceEntry('proof'), env, HTTP_READY);
    await this.startProof();
  }

  /** The proof service's process; only in a cluster started with options.proof. */
  get proof(): Proc {
    if (this.#proof === undefined) throw new Error('this cluster runs no proof service (see ClusterOptions.proof)');
    return this.#proof;
  }

  /** (Re)starts the proof service; its port is new each time. */
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
    await Promise.allSettled([this.#proof?.stop(), this.ingest?.stop(), ...this.shardProcs.map((p) => p.stop())]);
    await (this.natsCluster ?? this.nats).stop();
    for (const dir of this.dirs) dir.remove();
  }

  /** The newest output of every process, for a failing assertion's message. */
  logs(): string {
    const procs = [this.#proof, this.ingest, ...this.shardProcs].filter((p) => p !== undefined);
    return procs.map((p) => `--- ${p.name}\n${p.output.slice(-LOG_TAIL_CHARS)}`).join('\n');
  }
}

export function startCluster(options: ClusterOptions): Promise<Cluster> {
  return Cluster.start(options);
}
