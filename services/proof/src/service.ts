// Starts the proof service: config -> signer -> state log -> NATS -> sealer -> HTTP. Any problem
// before the first request (no signer key, a state log from another cluster, no broker) stops the
// start with an error instead of serving wrong or unsigned data.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { connectTransport, streamLayout, type Transport } from '@cairn/transport';
import { Answers } from './answers.js';
import { ConfigError, dataDirOf, natsAccess, tlsFiles, type ProofConfig } from './config.js';
import { createProofServer } from './http.js';
import { ProofMetrics } from './metrics.js';
import { NatsShards } from './nats-shards.js';
import { Sealer, type SignedHead } from './sealer.js';
import { loadSigner, verifierKeyOf } from './signer.js';
import { StateLog } from './state-log.js';

/** Abandoned epochs in a row after which /healthz says unhealthy. */
const FAILURES_UNHEALTHY_MIN = 10;
/** Problems logged per minute at most: a down shard must not flood the log every 100 ms. */
const PROBLEM_LOGS_PER_MINUTE_MAX = 6;

export interface ProofService {
  readonly url: string;
  readonly port: number;
  readonly verifierKey: string;
  readonly dataDir: string;
  readonly sealer: Sealer;
  readonly metrics: ProofMetrics;
  signed(): SignedHead;
  stop(): Promise<void>;
}

export async function startProof(config: ProofConfig, log: (line: string) => void = () => undefined, cwd = process.cwd()): Promise<ProofService> {
  const signer = loadSigner(config);
  const tls = tlsFiles(config);
  const broker = natsAccess(config);
  const dataDir = dataDirOf(config, cwd);
  const stateLog = await StateLog.open(dataDir);
  let transport: Transport | undefined;
  let server: Server | undefined;
  const metrics = new ProofMetrics();
  try {
    checkResume(stateLog, config);
    const layout = streamLayout({ shard_count: config.shards, stream: config.stream, subject_prefix: config.subject_prefix, replicas: config.replicas });
    // Every proven read is a shard request: the stack nats.js would keep per request costs ~5% of
    // this process's CPU under read load (docs/design/proof.md, "Performance"); errors keep their codes.
    transport = await connectTransport({
      servers: config.nats_url.split(','),
      layout,
      name: 'cairn-proof',
      publish_timeout_ms: config.publish_timeout_ms,
      async_traces: false,
      ...broker,
    });
    await transport.ensureStream();
    const shards = new NatsShards(transport, config.read_timeout_ms, metrics.shardRequest);
    const sealer = new Sealer({
      origin: config.origin,
      shards: config.shards,
      signer,
      log: stateLog,
      reads: shards,
      markers: shards,
      epoch_interval_ms: config.epoch_interval_ms,
      head_timeout_ms: config.head_timeout_ms,
      onProblem: rateLimited(log),
      onAttempt: metrics.epoch,
    });
    metrics.watch({ signedSize: () => sealer.signed().size, epochFailuresInARow: () => sealer.failures() });
    const answers = new Answers(stateLog, shards, config);
    server = createProofServer({
      origin: config.origin,
      cors_allow_origin: config.cors_allow_origin,
      requests_inflight_max: config.requests_inflight_max,
      connections_max: config.connections_max,
      retry_after_s: config.retry_after_s,
      key_bytes_max: config.key_bytes_max,
      answers,
      signed: () => sealer.signed(),
      health: () => ({ ok: sealer.failures() < FAILURES_UNHEALTHY_MIN, detail: { epochFailures: sealer.failures() } }),
      metrics,
      ...(tls === undefined ? {} : { tls }),
    });
    const port = await listen(server, config.host, config.port);
    sealer.start();
    const liveServer = server;
    const liveTransport = transport;
    return {
      url: `${tls === undefined ? 'http' : 'https'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
      port,
      verifierKey: verifierKeyOf(signer),
      dataDir,
      sealer,
      metrics,
      signed: () => sealer.signed(),
      async stop(): Promise<void> {
        // In parallel: a seal in progress can take its timeouts (a shard down) and must not
        // delay closing the server past the shutdown budget. Nothing sealed is lost either way:
        // an epoch is signed only after its synced write.
        await Promise.all([sealer.stop(), closeServer(liveServer, config.shutdown_ms_max)]);
        await liveTransport.close();
        await stateLog.close();
        metrics.stop();
      },
    };
  } catch (error) {
    if (server?.listening === true) await closeServer(server, 0);
    await transport?.close().catch(() => undefined);
    await stateLog.close().catch(() => undefined);
    metrics.stop();
    throw error;
  }
}

/** A state log written for another cluster (origin or shard count) must never be extended. */
function checkResume(stateLog: StateLog, config: ProofConfig): void {
  const last = stateLog.last()?.state;
  if (last === undefined) return;
  if (last.origin !== config.origin) throw new ConfigError(`the state log belongs to origin ${JSON.stringify(last.origin)}, not ${JSON.stringify(config.origin)}`);
  if (last.shards.length !== config.shards) throw new ConfigError(`the state log has ${last.shards.length} shards, config says ${config.shards}`);
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

async function closeServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}

function rateLimited(log: (line: string) => void): (message: string, cause?: unknown) => void {
  let windowStart = 0;
  let count = 0;
  return (message, cause) => {
    const now = Date.now();
    if (now - windowStart > 60_000) {
      windowStart = now;
      count = 0;
    }
    count += 1;
    if (count > PROBLEM_LOGS_PER_MINUTE_MAX) return;
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    log(`${message}${why}`);
  };
}
