#!/usr/bin/env node
// `npm start`: a local Cairn cluster in one terminal. Finds (or installs) nats-server, runs it with
// JetStream on 127.0.0.1 with its store under .data/, creates the stream, then starts the ingest
// gateway, N shard workers (shard n serves /metrics on 127.0.0.1:<metrics-port + n>) and the proof
// service (when services/proof is built in), prefixes each process's output, restarts a crashed
// service (bounded), and stops everything on Ctrl-C/SIGTERM.
// Data under .data/ survives restarts; the shard count is fixed when the cluster is created.
// docs/design/shard.md, "Running a local cluster".
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Named bounds of the launcher, units last.
const NATS_READY_MS_MAX = 15_000;
const SERVICE_READY_MS_MAX = 30_000;
const STOP_MS_MAX = 10_000;
const RESTARTS_MAX = 5;
const RESTART_DELAY_MS = 1_000;
const SHARDS_MAX = 64;

let stopping = false;
const procs = [];

const settings = [
  // name, env, default, help
  ['shards', 'CAIRN_SHARDS', '2', 'shard workers (fixed when the cluster is created)'],
  ['port', 'CAIRN_INGEST_PORT', '8080', 'ingest HTTP port'],
  ['proof-port', 'CAIRN_PROOF_PORT', '8090', 'proof service HTTP port'],
  ['nats-port', 'CAIRN_NATS_PORT', '4222', 'nats-server client port (node i of a NATS cluster: + i)'],
  ['nats-nodes', 'CAIRN_NATS_NODES', '1', '1, or 3: a JetStream cluster, routes on nats-port + 100 + i, the stream on all three (fixed when the cluster is created)'],
  ['metrics-port', 'CAIRN_SHARD_METRICS_PORT', '9464', 'shard n serves /metrics on 127.0.0.1 at this port + n'],
  ['data-dir', 'CAIRN_DATA', join(root, '.data'), 'where nats, shards and the proof service keep their data'],
  ['origin', 'CAIRN_ORIGIN', 'cairn.local/ledger', 'cluster name (checkpoint origin)'],
];

function usage() {
  const lines = ['usage: npm start -- [--shards N] [--port P] [--proof-port P] [--nats-port P] [--nats-nodes 1|3] [--metrics-port P] [--data-dir DIR]', ''];
  for (const [name, env, def, help] of settings) lines.push(`  --${name.padEnd(12)} ${env.padEnd(20)} ${String(def).padEnd(12)} ${help}`);
  return lines.join('\n');
}

// Before any process runs, a failure just exits; afterwards it stops what was started first.
function fail(message) {
  console.error(`start: ${message}`);
  if (procs.length === 0) process.exit(1);
  void stopAll(1);
  throw new Error(message);
}

function parseArgs(argv) {
  const given = new Map();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(usage());
      process.exit(0);
    }
    const eq = arg.indexOf('=');
    const name = (eq < 0 ? arg : arg.slice(0, eq)).replace(/^--/, '');
    if (!arg.startsWith('--') || !settings.some(([n]) => n === name)) fail(`unknown flag ${arg}\n${usage()}`);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) fail(`--${name} needs a value`);
    given.set(name, value);
  }
  const out = {};
  for (const [name, env, def] of settings) out[name] = given.get(name) ?? (process.env[env] || undefined) ?? def;
  out.shardsGiven = given.has('shards') || Boolean(process.env.CAIRN_SHARDS);
  out.natsNodesGiven = given.has('nats-nodes') || Boolean(process.env.CAIRN_NATS_NODES);
  return out;
}

function port(value, name) {
  const n = Number(value);
  if (!/^[0-9]+$/.test(String(value)) || n < 1 || n > 65_535) fail(`--${name} must be a port 1..65535, got ${value}`);
  return n;
}

// ---- configuration, checked before anything starts ------------------------------------------

const args = parseArgs(process.argv.slice(2));
const dataDir = resolve(args['data-dir']);
const ingestPort = port(args.port, 'port');
const proofPort = port(args['proof-port'], 'proof-port');
const natsPort = port(args['nats-port'], 'nats-port');
mkdirSync(dataDir, { recursive: true });
const clusterFile = join(dataDir, 'cluster.json');
let shards = Number(args.shards);
let natsNodes = Number(args['nats-nodes']);
if (existsSync(clusterFile)) {
  const stored = JSON.parse(readFileSync(clusterFile, 'utf8'));
  if (args.shardsGiven && shards !== stored.shards) {
    fail(`this cluster was created with ${stored.shards} shards (${clusterFile}); the shard count is fixed. Remove ${dataDir} to start over.`);
  }
  // The stream's replicas follow the node count and a stream keeps them: fixed too.
  const storedNodes = stored.natsNodes ?? 1;
  if (args.natsNodesGiven && natsNodes !== storedNodes) {
    fail(`this cluster was created with ${storedNodes} NATS nodes (${clusterFile}); the count is fixed. Remove ${dataDir} to start over.`);
  }
  shards = stored.shards;
  natsNodes = storedNodes;
}
if (natsNodes !== 1 && natsNodes !== 3) fail(`--nats-nodes must be 1 or 3, got ${args['nats-nodes']}`);
const natsPorts = Array.from({ length: natsNodes }, (_, i) => natsPort + i);
const routePorts = natsNodes === 1 ? [] : natsPorts.map((p) => p + 100);
const fixedPorts = [ingestPort, proofPort, ...natsPorts, ...routePorts];
if (new Set(fixedPorts).size !== fixedPorts.length) fail('the ingest, proof and NATS ports must all differ');
if (fixedPorts.some((p) => p > 65_535)) fail('a NATS port would be past 65535; pass --nats-port');
if (!Number.isSafeInteger(shards) || shards < 1 || shards > SHARDS_MAX) fail(`--shards must be 1..${SHARDS_MAX}, got ${args.shards}`);
// One metrics port per shard, from --metrics-port up; none may be another service's port.
const metricsPort = port(args['metrics-port'], 'metrics-port');
const metricsPorts = Array.from({ length: shards }, (_, s) => metricsPort + s);
if (metricsPorts[shards - 1] > 65_535) fail(`--metrics-port ${metricsPort} + ${shards - 1} shards is past port 65535`);
if (metricsPorts.some((p) => fixedPorts.includes(p))) fail(`the shards' metrics ports ${metricsPort}..${metricsPorts[shards - 1]} overlap another port`);

const mains = {
  ingest: join(root, 'services/ingest/dist/src/main.js'),
  shard: join(root, 'services/shard/dist/src/main.js'),
  proof: join(root, 'services/proof/dist/src/main.js'),
  proofCli: join(root, 'services/proof/dist/src/cli.js'),
  transport: join(root, 'libs/transport/dist/src/index.js'),
};
const withProof = existsSync(join(root, 'services/proof/package.json'));

// ---- build when needed -------------------------------------------------------------------------

function ensureBuilt() {
  const needed = [mains.ingest, mains.shard, mains.transport, ...(withProof ? [mains.proof] : [])];
  if (needed.every((f) => existsSync(f))) return;
  console.log('start: building the workspace (npm run build)');
  try {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  } catch {
    fail('the build failed');
  }
  for (const f of needed) if (!existsSync(f)) fail(`the build did not produce ${f}`);
}

function natsBinary() {
  try {
    const out = execFileSync('bash', [join(root, 'scripts/ensure-nats.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return out.trim().split('\n').pop();
  } catch {
    return fail('no nats-server >= 2.12 found, and scripts/ensure-nats.sh could not install one');
  }
}

// ---- processes ------------------------------------------------------------------------------

const colors = [36, 33, 35, 32, 34, 31];
const useColor = process.stdout.isTTY === true;

// nats-server's start-up banner and routine [INF] lines drown the services' output; its warnings
// and errors still show. CAIRN_VERBOSE=1 shows everything.
const verbose = process.env.CAIRN_VERBOSE === '1';
const natsRoutine = /\[INF\]/;

function prefixLines(stream, label, color, sink) {
  const tag = useColor ? `\u001b[${color}m[${label}]\u001b[0m ` : `[${label}] `;
  createInterface({ input: stream }).on('line', (line) => {
    if (label.startsWith('nats') && !verbose && natsRoutine.test(line)) return;
    sink.write(`${tag}${line}\n`);
  });
}

class Service {
  constructor(label, command, argv, env, ready) {
    Object.assign(this, { label, command, argv, env, ready, restarts: 0, child: undefined, color: colors[procs.length % colors.length] });
    procs.push(this);
  }

  start() {
    const child = spawn(this.command, this.argv, { cwd: root, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let seen = '';
    const readyLine = new Promise((resolve) => {
      const watch = (chunk) => {
        seen = (seen + chunk.toString()).slice(-4_096);
        if (this.ready.test(seen)) {
          child.stdout.off('data', watch);
          resolve(true);
        }
      };
      child.stdout.on('data', watch);
    });
    prefixLines(child.stdout, this.label, this.color, process.stdout);
    prefixLines(child.stderr, this.label, this.color, process.stderr);
    child.once('error', (error) => console.error(`start: ${this.label}: ${error.message}`));
    this.exited.then((how) => this.onExit(how));
    return Promise.race([readyLine, this.exited.then(() => false), sleep(SERVICE_READY_MS_MAX).then(() => false)]);
  }

  async onExit({ code, signal }) {
    if (stopping) return;
    console.error(`start: ${this.label} exited (${signal ?? `code ${code}`})`);
    if (this.restarts >= RESTARTS_MAX) {
      console.error(`start: ${this.label} crashed ${RESTARTS_MAX} times; stopping the cluster`);
      await stopAll(1);
      return;
    }
    this.restarts += 1;
    await sleep(RESTART_DELAY_MS * this.restarts);
    if (stopping) return;
    console.error(`start: restarting ${this.label} (${this.restarts}/${RESTARTS_MAX})`);
    if (!(await this.start())) console.error(`start: ${this.label} did not come back ready`);
  }

  get running() {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop() {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timeout = new AbortController();
    const done = await Promise.race([this.exited.then(() => true), sleep(STOP_MS_MAX, false, { signal: timeout.signal }).catch(() => false)]);
    timeout.abort();
    if (!done && this.running) {
      console.error(`start: ${this.label} did not stop in ${STOP_MS_MAX} ms; killing it`);
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

let stopPromise;
function stopAll(code) {
  stopPromise ??= (async () => {
    stopping = true;
    // Front doors first (no new work), then the shards (finish the batch in hand), the broker last.
    const order = [procs.filter((p) => p.label === 'ingest' || p.label === 'proof'), procs.filter((p) => p.label.startsWith('shard')), procs.filter((p) => p.label.startsWith('nats'))];
    for (const group of order) await Promise.all(group.map((p) => p.stop()));
    process.exit(code);
  })();
  return stopPromise;
}

let signals = 0;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    signals += 1;
    if (signals > 1) {
      for (const p of procs) if (p.running) p.child.kill('SIGKILL');
      process.exit(130);
    }
    console.log(`\nstart: ${signal}: stopping the cluster`);
    void stopAll(0);
  });
}

function portOpen(p) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: p });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function createStream(natsUrl) {
  const { connectTransport, streamLayout } = await import(mains.transport);
  const deadline = Date.now() + NATS_READY_MS_MAX;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const transport = await connectTransport({ servers: natsUrl.split(','), layout: streamLayout({ shard_count: shards, replicas: natsNodes }), name: 'cairn-start' });
      try {
        await transport.ensureStream();
      } finally {
        await transport.close();
      }
      return;
    } catch (error) {
      if (Date.now() > deadline) fail(`cannot create the stream: ${error.message}`);
      await sleep(Math.min(1_000, 100 * attempt));
    }
  }
}

function signerKeyFile() {
  const base = join(dataDir, 'signer');
  if (!existsSync(`${base}.key`)) execFileSync(process.execPath, [mains.proofCli, 'keygen', '--name', args.origin, '--out', base], { stdio: 'inherit' });
  return `${base}.key`;
}

async function main() {
  ensureBuilt();
  const bin = natsBinary();
  for (const p of [...natsPorts, ...routePorts]) if (await portOpen(p)) fail(`port ${p} is taken (another nats-server?); pass --nats-port`);
  for (const [p, name] of [[ingestPort, 'port'], [proofPort, 'proof-port'], ...metricsPorts.map((m) => [m, 'metrics-port'])]) if (await portOpen(p)) fail(`port ${p} is taken; pass --${name}`);
  writeFileSync(clusterFile, JSON.stringify({ shards, natsNodes }) + '\n');
  const natsUrl = natsPorts.map((p) => `nats://127.0.0.1:${p}`).join(',');
  for (let i = 0; i < natsNodes; i += 1) {
    // One node keeps the directory and label it always had; a cluster's nodes get one each.
    const name = natsNodes === 1 ? 'nats' : `nats ${i}`;
    const natsDir = join(dataDir, natsNodes === 1 ? 'nats' : `nats-${i}`);
    mkdirSync(natsDir, { recursive: true });
    const natsConf = join(dataDir, natsNodes === 1 ? 'nats.conf' : `nats-${i}.conf`);
    const lines = [`listen: "127.0.0.1:${natsPorts[i]}"`, `jetstream { store_dir: ${JSON.stringify(natsDir)} }`];
    if (natsNodes > 1) {
      const routes = routePorts.filter((_, j) => j !== i).map((p) => `"nats-route://127.0.0.1:${p}"`);
      lines.push(`server_name: cairn-n${i}`, `cluster { name: cairn-local, listen: "127.0.0.1:${routePorts[i]}", routes: [${routes.join(', ')}] }`);
    }
    writeFileSync(natsConf, lines.join('\n') + '\n');
    const nats = new Service(name, bin, ['-c', natsConf], {}, /Server is ready/);
    // nats-server logs to stderr; readiness is checked on the port instead of its output.
    void nats.start();
  }
  const deadline = Date.now() + NATS_READY_MS_MAX;
  for (const p of natsPorts) {
    while (!(await portOpen(p))) {
      if (Date.now() > deadline || !procs.filter((s) => s.label.startsWith('nats')).every((s) => s.running)) fail(`nats-server did not listen on ${p} within ${NATS_READY_MS_MAX} ms`);
      await sleep(50);
    }
  }
  await createStream(natsUrl);
  const common = { CAIRN_NATS_URL: natsUrl, CAIRN_SHARDS: String(shards), CAIRN_REPLICAS: String(natsNodes) };
  const starting = [];
  for (let s = 0; s < shards; s += 1) {
    const env = { ...common, CAIRN_SHARD: String(s), CAIRN_DATA_DIR: join(dataDir, `shard-${s}`), CAIRN_SHARD_METRICS_LISTEN: `127.0.0.1:${metricsPorts[s]}` };
    const shard = new Service(`shard ${s}`, process.execPath, [mains.shard], env, /serving shard/);
    starting.push(shard.start().then((ok) => ok || fail(`shard ${s} did not start`)));
  }
  const ingest = new Service('ingest', process.execPath, [mains.ingest], { ...common, CAIRN_INGEST_PORT: String(ingestPort) }, /listening on/);
  starting.push(ingest.start().then((ok) => ok || fail('the ingest did not start')));
  if (withProof && existsSync(mains.proof)) {
    const env = { ...common, CAIRN_PROOF_PORT: String(proofPort), CAIRN_PROOF_DATA_DIR: join(dataDir, 'proof'), CAIRN_ORIGIN: args.origin, CAIRN_SIGNER_KEY_FILE: signerKeyFile() };
    const proof = new Service('proof', process.execPath, [mains.proof], env, /listening on/);
    starting.push(proof.start().then((ok) => ok || fail('the proof service did not start')));
  }
  await Promise.all(starting);
  const lines = [
    '',
    `Cairn is running with ${shards} shards (data in ${dataDir}):`,
    `  write API   http://127.0.0.1:${ingestPort}/v1/transactions  (OpenAPI: http://127.0.0.1:${ingestPort}/openapi.json)`,
    ...(procs.some((p) => p.label === 'proof') ? [`  proof API   http://127.0.0.1:${proofPort}`] : []),
    `  NATS        ${natsUrl}${natsNodes > 1 ? ` (a JetStream cluster, the stream on all ${natsNodes})` : ''}`,
    shards <= 4
      ? `  shard metrics  ${metricsPorts.map((p) => `http://127.0.0.1:${p}/metrics`).join('  ')}`
      : `  shard metrics  http://127.0.0.1:<${metricsPort} + shard>/metrics (${metricsPort}..${metricsPorts[shards - 1]})`,
    'Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));
}

main().catch(async (error) => {
  if (!stopping) console.error(`start: ${error?.stack ?? error}`);
  await stopAll(1);
});
