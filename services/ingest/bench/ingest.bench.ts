// Ingest gateway over real HTTP and a real nats-server, beside a bare node:http server measured in
// the same run (the baseline: read body, JSON.parse, answer). The shard side is the test stand-in
// (no RocksDB), in a worker thread: this measures the gateway, not the cluster. To drive a running
// cluster instead (npm start), set CAIRN_BENCH_INGEST_URL=http://127.0.0.1:8080.
//   npm run bench -w @cairn/ingest     (CAIRN_BENCH_MS=5000 CAIRN_BENCH_CONNECTIONS=64)
// Besides req/s it prints the main thread's CPU time per request, of which in the kernel (sys):
// the gateway's or the bare server's alone, as the load client and the stand-in shards have their
// own threads. On a shared box other processes move throughput by tens of percent, the CPU a
// request costs far less. Also requests per flush (one atomic batch), which per-flush costs divide by.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { startNatsServer } from '@cairn/testkit';
import { loadConfig, startIngest } from '../src/index.js';
import { startMiniShard } from '../test/mini-shard.js';
import type { LoadResult, LoadSpec } from './load-client.js';
import type { ShardWorkerSpec } from './shard-worker.js';

const durationMs = Number(process.env['CAIRN_BENCH_MS'] ?? 5_000);
const connections = Number(process.env['CAIRN_BENCH_CONNECTIONS'] ?? 64);
// Comma-separated subset of: bare,committed,committed-id,accepted,batch,batch-id (one case at a
// time for profiling). The -id cases send client ids, which the gateway claims before publishing.
const cases = new Set((process.env['CAIRN_BENCH_CASES'] ?? 'bare,committed,committed-id,accepted,batch,batch-id').split(','));

interface Measured extends LoadResult {
  // Main-thread CPU microseconds per request; undefined without Linux's /proc.
  readonly cpu_us: number | undefined;
  // Of which in the kernel (socket reads and writes, mostly).
  readonly sys_us: number | undefined;
  // Requests per gateway flush (one atomic batch); undefined for a gateway in another process.
  readonly per_flush: number | undefined;
}

// The in-process gateway's flush count, read around each run.
let flushCount: (() => number) | undefined;

async function load(spec: LoadSpec): Promise<Measured> {
  const cpu0 = mainThreadCpuUs();
  const flushes0 = flushCount?.();
  const r = await new Promise<LoadResult>((resolve, reject) => {
    const worker = new Worker(new URL('./load-client.js', import.meta.url), { workerData: spec });
    worker.once('message', (m: LoadResult | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
    worker.once('error', reject);
  });
  const cpu1 = mainThreadCpuUs();
  const flushes = flushes0 === undefined ? 0 : (flushCount?.() ?? 0) - flushes0;
  return {
    ...r,
    cpu_us: cpu0 === undefined || cpu1 === undefined || r.requests === 0 ? undefined : (cpu1.total - cpu0.total) / r.requests,
    sys_us: cpu0 === undefined || cpu1 === undefined || r.requests === 0 ? undefined : (cpu1.sys - cpu0.sys) / r.requests,
    per_flush: flushes > 0 ? r.requests / flushes : undefined,
  };
}

// utime + stime of this process's main thread (fields 14 and 15 of the thread's stat line, in
// clock ticks of 10 ms: USER_HZ is 100 on Linux), or undefined where there is no /proc.
function mainThreadCpuUs(): { total: number; sys: number } | undefined {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const user = Number(fields[11]);
    const sys = Number(fields[12]);
    return Number.isFinite(user) && Number.isFinite(sys) ? { total: (user + sys) * 10_000, sys: sys * 10_000 } : undefined;
  } catch {
    return undefined;
  }
}

async function bareServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const body = '{"ok":true}';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function line(name: string, r: Measured, baseline: number, recordsPerRequest = 1, inProcess = true): void {
  const rps = r.requests / r.seconds;
  const cpu = inProcess && r.cpu_us !== undefined ? `  cpu ${r.cpu_us.toFixed(1).padStart(7)} us/req (sys ${(r.sys_us ?? 0).toFixed(1)})` : '';
  const perFlush = r.per_flush !== undefined ? `  ${r.per_flush.toFixed(1)} req/flush` : '';
  console.log(
    `${name.padEnd(34)} ${rps.toFixed(0).padStart(8)} req/s  ${(rps * recordsPerRequest).toFixed(0).padStart(9)} records/s  ` +
      `p50 ${r.p50_ms.toFixed(2).padStart(7)} ms  p99 ${r.p99_ms.toFixed(2).padStart(7)} ms  errors ${r.errors}  ` +
      `x${(rps / baseline).toFixed(2)} of bare req/s${cpu}${perFlush}`,
  );
}

interface Target {
  readonly url: string;
  readonly what: string;
  // Whether the gateway runs in this process, so that its CPU is the main thread's.
  readonly inProcess: boolean;
  stop(): Promise<void>;
}

async function target(): Promise<Target> {
  const external = process.env['CAIRN_BENCH_INGEST_URL'];
  if (external !== undefined && external !== '') return { url: external, what: `the cluster at ${external}`, inProcess: false, stop: async () => undefined };
  const nats = await startNatsServer();
  const ingest = await startIngest(loadConfig(process.env, [], { nats_url: nats.url, port: 0, shards: 2 }));
  flushCount = () => ingest.gateway.stats.flushes;
  if (shardsInline) {
    const shards = [await startMiniShard(ingest.transport, 0), await startMiniShard(ingest.transport, 1)];
    return {
      url: ingest.url,
      what: '1 nats-server, 2 stand-in shards (no RocksDB) in this thread',
      inProcess: true,
      async stop() {
        for (const s of shards) await s.stop();
        await ingest.stop();
        await nats.stop();
      },
    };
  }
  const shards = await shardWorker({ nats_url: nats.url, layout: ingest.transport.layout });
  return {
    url: ingest.url,
    what: '1 nats-server, 2 stand-in shards (no RocksDB) in a worker thread',
    inProcess: true,
    async stop() {
      await shards.stop();
      await ingest.stop();
      await nats.stop();
    },
  };
}

// The stand-in shards run in a worker thread unless CAIRN_BENCH_SHARDS=inline (the layout before
// 2026-11: then the CPU column also holds the stand-ins' work, about 10 us of a committed request).
const shardsInline = process.env['CAIRN_BENCH_SHARDS'] === 'inline';

async function shardWorker(spec: ShardWorkerSpec): Promise<{ stop(): Promise<void> }> {
  const worker = new Worker(new URL('./shard-worker.js', import.meta.url), { workerData: spec });
  const next = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  const ready = await next();
  if (ready !== 'ready') throw new Error(`stand-in shards did not start: ${JSON.stringify(ready)}`);
  return {
    async stop() {
      const stopped = next();
      worker.postMessage('stop');
      await stopped;
      await worker.terminate();
    },
  };
}

async function main(): Promise<void> {
  const ingest = await target();
  const bare = await bareServer();
  try {
    const one = '{"records":[{"key":"{shop$N}:order","value":{"total":4999,"currency":"EUR"}}]}';
    const oneWithId = '{"id":"o$N","records":[{"key":"{shop$N}:order","value":{"total":4999,"currency":"EUR"}}]}';
    const batch = JSON.stringify({
      transactions: Array.from({ length: 1000 }, (_, i) => ({ records: [{ key: `{s$N-${i}}:k`, value: { n: i } }] })),
    });
    const batchWithIds = JSON.stringify({
      transactions: Array.from({ length: 1000 }, (_, i) => ({ id: `b$N-${i}`, records: [{ key: `{s$N-${i}}:k`, value: { n: i } }] })),
    });
    console.log(`${durationMs} ms per run, ${connections} connections (batch: 4), ingest: ${ingest.what}`);
    let baseRps = Number.NaN;
    if (cases.has('bare')) {
      const base = await load({ url: `${bare.url}/`, body: one, connections, duration_ms: durationMs });
      baseRps = base.requests / base.seconds;
      line('bare node:http, 1-record body', base, baseRps);
    }
    if (cases.has('committed')) {
      line('ingest 1-record, wait=committed', await load({ url: `${ingest.url}/v1/transactions`, body: one, connections, duration_ms: durationMs }), baseRps, 1, ingest.inProcess);
    }
    if (cases.has('committed-id')) {
      line('ingest 1-record with id, committed', await load({ url: `${ingest.url}/v1/transactions`, body: oneWithId, connections, duration_ms: durationMs }), baseRps, 1, ingest.inProcess);
    }
    if (cases.has('accepted')) {
      line('ingest 1-record, wait=accepted', await load({ url: `${ingest.url}/v1/transactions?wait=accepted`, body: one, connections, duration_ms: durationMs }), baseRps, 1, ingest.inProcess);
    }
    if (cases.has('batch')) {
      const r = await load({ url: `${ingest.url}/v1/transactions/batch`, body: batch, connections: 4, duration_ms: durationMs });
      line('ingest batch of 1,000 (committed)', r, baseRps, 1000, ingest.inProcess);
    }
    if (cases.has('batch-id')) {
      const r = await load({ url: `${ingest.url}/v1/transactions/batch`, body: batchWithIds, connections: 4, duration_ms: durationMs });
      line('ingest batch of 1,000 with ids', r, baseRps, 1000, ingest.inProcess);
    }
  } finally {
    bare.server.close();
    await ingest.stop();
  }
}

await main();
