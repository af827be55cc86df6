import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killOnExit } from './children.js';
import { repoRoot } from './paths.js';
import { tempDir, type TempDir } from './tempdir.js';

/** How long a nats-server may take to say it is ready (JetStream recovery included). */
export const NATS_READY_MS_MAX_DEFAULT = 15_000;
/** How long a graceful stop may take before the process is killed. */
export const NATS_STOP_MS_MAX = 5_000;
const READY_POLL_MS = 20;

export interface NatsServerOptions {
  /** Keep the temporary store (and log) directory after stop(); it still goes when the test process exits. */
  readonly keep_store?: boolean;
  /** Use this JetStream store directory instead of a temporary one; it is never removed. */
  readonly store_dir?: string;
  readonly ready_ms_max?: number;
  /** Server max_payload; nats-server's default is 1 MiB. */
  readonly max_payload_bytes?: number;
  /** Clients must present this token (`authorization { token }`). */
  readonly token?: string;
  /** Clients must connect with TLS, to this certificate and key (selfSignedCert). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

/** A node's part in a JetStream cluster: its name and where its routes listen and connect. */
export interface NatsClusterNode {
  readonly cluster_name: string;
  readonly server_name: string;
  readonly route_port: number;
  /** Route ports of the other nodes. */
  readonly peer_route_ports: readonly number[];
}

export interface NatsServer {
  /** The server_name in a cluster; '' for a lone server. */
  readonly serverName: string;
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** The server's combined stdout/stderr, appended across restarts. */
  readonly logPath: string;
  /** Pid of the running process, or undefined while it is down. */
  readonly pid: number | undefined;
  /** Graceful stop (SIGTERM, SIGKILL after NATS_STOP_MS_MAX), then removes the temporary store unless kept. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would; the store stays so that restart() recovers from it. */
  kill(): Promise<void>;
  /** Stops the server if it runs, then starts it again on the same port and store dir. */
  restart(): Promise<void>;
}

let cachedBin: string | undefined;

/** NATS_SERVER_BIN if set, else whatever scripts/ensure-nats.sh finds or installs (>= 2.12). */
export function natsServerBin(): string {
  if (cachedBin !== undefined) return cachedBin;
  const fromEnv = process.env['NATS_SERVER_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') {
    cachedBin = fromEnv;
    return fromEnv;
  }
  const script = join(repoRoot(), 'scripts', 'ensure-nats.sh');
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });
  const bin = out.trim().split('\n').pop() ?? '';
  if (bin === '') throw new Error('testkit: ensure-nats.sh printed no path');
  cachedBin = bin;
  return bin;
}

function configText(port: number, storeDir: string, opts: NatsServerOptions, node: NatsClusterNode | undefined): string {
  const maxPayload = opts.max_payload_bytes;
  const lines = [
    `listen: "127.0.0.1:${port}"`,
    `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
    // The monitoring port stays off; nothing here may listen beyond the client and route ports.
  ];
  if (maxPayload !== undefined) lines.push(`max_payload: ${maxPayload}`);
  if (opts.token !== undefined) lines.push(`authorization { token: ${JSON.stringify(opts.token)} }`);
  if (opts.tls !== undefined) lines.push(`tls { cert_file: ${JSON.stringify(opts.tls.certFile)}, key_file: ${JSON.stringify(opts.tls.keyFile)} }`);
  if (node !== undefined) {
    const routes = node.peer_route_ports.map((p) => JSON.stringify(`nats-route://127.0.0.1:${p}`)).join(', ');
    lines.push(`server_name: ${JSON.stringify(node.server_name)}`);
    lines.push(`cluster { name: ${JSON.stringify(node.cluster_name)}, listen: "127.0.0.1:${node.route_port}", routes: [${routes}] }`);
  }
  return lines.join('\n') + '\n';
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

class RunningNats implements NatsServer {
  port = 0;
  private child: ChildProcess | undefined;
  private stopped = false;

  constructor(
    private readonly root: TempDir,
    readonly storeDir: string,
    readonly logPath: string,
    private readonly confPath: string,
    private readonly opts: NatsServerOptions,
    private readonly node: NatsClusterNode | undefined = undefined,
  ) {}

  get serverName(): string {
    return this.node?.server_name ?? '';
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.stopped) throw new Error('testkit: nats-server was stopped for good');
    // Port -1 asks the server for an ephemeral port; restarts reuse the port it chose.
    writeFileSync(this.confPath, configText(this.port === 0 ? -1 : this.port, this.storeDir, this.opts, this.node));
    const logOffset = fileSize(this.logPath);
    const fd = openSync(this.logPath, 'a');
    let child: ChildProcess;
    try {
      child = spawn(natsServerBin(), ['-c', this.confPath], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    killOnExit(child);
    // A forgotten server must not keep the test process alive; the exit hook kills it.
    child.unref();
    this.child = child;
    await this.waitReady(child, logOffset);
  }

  private async waitReady(child: ChildProcess, logOffset: number): Promise<void> {
    const deadline = Date.now() + (this.opts.ready_ms_max ?? NATS_READY_MS_MAX_DEFAULT);
    while (Date.now() < deadline) {
      const log = readFileSync(this.logPath, 'utf8').slice(logOffset);
      const listening = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log);
      if (listening?.[1] !== undefined && log.includes('Server is ready')) {
        this.port = Number(listening[1]);
        return;
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`testkit: nats-server exited during start (${child.exitCode ?? child.signalCode}):\n${log.slice(-2000)}`);
      }
      await sleep(READY_POLL_MS);
    }
    child.kill('SIGKILL');
    throw new Error(`testkit: nats-server not ready within ${this.opts.ready_ms_max ?? NATS_READY_MS_MAX_DEFAULT} ms; log at ${this.logPath}`);
  }

  private async terminate(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    child.kill('SIGTERM');
    if (!(await waitExit(child, NATS_STOP_MS_MAX))) {
      child.kill('SIGKILL');
      await waitExit(child, NATS_STOP_MS_MAX);
    }
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    child.kill('SIGKILL');
    await waitExit(child, NATS_STOP_MS_MAX);
  }

  async restart(): Promise<void> {
    await this.terminate();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.terminate();
    this.stopped = true;
    if (this.opts.keep_store !== true) this.root.remove();
  }
}

/**
 * A real nats-server with JetStream on 127.0.0.1 and an ephemeral port, its store in a temporary
 * directory. Resolves once the server says it is ready; never outlives the test process.
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const ready = opts.ready_ms_max ?? NATS_READY_MS_MAX_DEFAULT;
  if (!Number.isSafeInteger(ready) || ready <= 0 || ready > 120_000) throw new Error(`testkit: bad ready_ms_max ${ready}`);
  const root = tempDir('nats');
  const storeDir = opts.store_dir ?? join(root.path, 'store');
  mkdirSync(storeDir, { recursive: true });
  const server = new RunningNats(root, storeDir, join(root.path, 'nats.log'), join(root.path, 'nats.conf'), opts);
  try {
    await server.start();
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** Nodes of a test JetStream cluster: 3 holds a replicated stream through the loss of any one. */
export const NATS_CLUSTER_NODES_MIN = 3;
export const NATS_CLUSTER_NODES_MAX = 5;
const META_LEADER = /JetStream cluster new metadata leader|Self is new JetStream cluster metadata leader/;

export interface NatsCluster {
  readonly nodes: readonly NatsServer[];
  /** Every node's client URL, comma separated (the services' CAIRN_NATS_URL). */
  readonly url: string;
  /** The node whose server_name is `name`. */
  node(name: string): NatsServer;
  stop(): Promise<void>;
}

/** A port free on 127.0.0.1 right now: route ports must be known before any node starts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('testkit: no port from listen(0)');
  return address.port;
}

/** Resolves once every node's log names a JetStream metadata leader: before that, no stream can be made. */
async function waitMetaLeader(nodes: readonly NatsServer[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (nodes.every((n) => META_LEADER.test(readFileSync(n.logPath, 'utf8')))) return;
    await sleep(READY_POLL_MS * 5);
  }
  throw new Error(`testkit: no JetStream metadata leader within ${ms} ms; logs at ${nodes.map((n) => n.logPath).join(', ')}`);
}

/**
 * `nodes` real nats-servers on 127.0.0.1 forming one JetStream cluster (routes between all of
 * them, each with its own temporary store), for tests of replicated streams and of losing a
 * node. Client ports are ephemeral; a node keeps its ports across kill() and restart().
 */
export async function startNatsCluster(o: {
  readonly nodes: number;
  readonly ready_ms_max?: number;
  readonly token?: string;
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}): Promise<NatsCluster> {
  if (!Number.isSafeInteger(o.nodes) || o.nodes < NATS_CLUSTER_NODES_MIN || o.nodes > NATS_CLUSTER_NODES_MAX) {
    throw new Error(`testkit: a NATS cluster has ${NATS_CLUSTER_NODES_MIN}..${NATS_CLUSTER_NODES_MAX} nodes, got ${o.nodes}`);
  }
  const ready = o.ready_ms_max ?? NATS_READY_MS_MAX_DEFAULT;
  const routePorts: number[] = [];
  // A port just closed can be handed out again: draw until the nodes' route ports differ (bounded).
  for (let draws = 0; routePorts.length < o.nodes && draws < 10 * o.nodes; draws += 1) {
    const port = await freePort();
    if (!routePorts.includes(port)) routePorts.push(port);
  }
  if (routePorts.length < o.nodes) throw new Error('testkit: no distinct free ports for the cluster routes');
  const nodes = routePorts.map((routePort, i) => {
    const root = tempDir(`nats-n${i}`);
    const storeDir = join(root.path, 'store');
    mkdirSync(storeDir, { recursive: true });
    const node: NatsClusterNode = { cluster_name: 'cairn-test', server_name: `n${i}`, route_port: routePort, peer_route_ports: routePorts.filter((p) => p !== routePort) };
    return new RunningNats(root, storeDir, join(root.path, 'nats.log'), join(root.path, 'nats.conf'), { ready_ms_max: ready, ...(o.token === undefined ? {} : { token: o.token }), ...(o.tls === undefined ? {} : { tls: o.tls }) }, node);
  });
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await waitMetaLeader(nodes, ready);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes,
    get url() {
      return nodes.map((n) => n.url).join(',');
    },
    node(name) {
      const found = nodes.find((n) => n.serverName === name);
      if (found === undefined) throw new Error(`testkit: no NATS node named ${name}`);
      return found;
    },
    stop,
  };
}
