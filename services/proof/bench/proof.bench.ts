// Proof service figures on a real local cluster (nats-server, 2 shard processes, ingest, proof):
//   - proven reads/s of GET /v1/keys/{key} (one shard `proven` request per read, the state and its
//     proof cached per checkpoint), as a
//     ratio of GET /v1/checkpoint/s (no shard round trip) measured in the same run;
//   - write -> proven latency (receipt to the first signed state that contains it) against the
//     epoch interval.
// Not a test: it prints figures. Run: npm run bench -w @cairn/proof (after npm run build).
import { generateKeyPair } from '@cairn/checkpoint';
import { startCluster, type Cluster } from '@cairn/testkit';
import { http } from '../test/cluster.js';

const SHARDS = 2;
const ORIGIN = 'bench.cairn/proof';
const EPOCH_INTERVAL_MS = 100;
const KEYS = 200;
const CONCURRENCY = 16;
const RUN_MS = 3_000;
const LATENCY_SAMPLES = 40;
const POLL_MS = 5;
const PROVEN_WAIT_MS_MAX = 10_000;

async function rate(label: string, url: (i: number) => string): Promise<number> {
  let done = 0;
  const end = Date.now() + RUN_MS;
  const worker = async (w: number): Promise<void> => {
    for (let i = w; Date.now() < end; i += CONCURRENCY) {
      const a = await http(url(i));
      if (a.status !== 200) throw new Error(`${label}: ${a.status} ${a.text.slice(0, 200)}`);
      done += 1;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  return done / ((performance.now() - started) / 1000);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

async function provenAfter(cluster: Cluster, id: string): Promise<number> {
  const started = performance.now();
  const a = await http(`${cluster.ingestUrl}/v1/transactions`, { body: { id, records: [{ key: `{lat}:${id}`, value: 1 }, { key: `{other}:${id}`, value: 1 }] } });
  if (a.status !== 200) throw new Error(`write ${id}: ${a.text}`);
  const receipt = performance.now();
  while (performance.now() - receipt < PROVEN_WAIT_MS_MAX) {
    if ((await http(`${cluster.proofUrl}/v1/transactions/${id}`)).status === 200) return performance.now() - started;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`${id} not proven in ${PROVEN_WAIT_MS_MAX} ms`);
}

async function main(): Promise<void> {
  const keys = generateKeyPair(ORIGIN);
  const cluster = await startCluster({ shards: SHARDS, name: 'proof-bench', proof: { origin: ORIGIN, signerKey: keys.signerKey, epochIntervalMs: EPOCH_INTERVAL_MS } });
  try {
    const txs = Array.from({ length: KEYS }, (_, i) => ({ id: `seed-${i}`, records: [{ key: `{k${i}}:v`, value: { i } }] }));
    const seeded = await http(`${cluster.ingestUrl}/v1/transactions/batch`, { body: { transactions: txs } });
    if (seeded.status !== 200) throw new Error(`seed: ${seeded.text.slice(0, 300)}`);
    await provenAfter(cluster, 'warm-up');
    const checkpoints = await rate('checkpoint', () => `${cluster.proofUrl}/v1/checkpoint`);
    const reads = await rate('keys', (i) => `${cluster.proofUrl}/v1/keys/${encodeURIComponent(`{k${i % KEYS}}:v`)}`);
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i += 1) latencies.push(await provenAfter(cluster, `lat-${i}`));
    latencies.sort((a, b) => a - b);
    console.log(`proof service, ${SHARDS} shards, epoch_interval_ms ${EPOCH_INTERVAL_MS}, ${CONCURRENCY} concurrent HTTP clients, ${RUN_MS} ms each`);
    console.log(`  GET /v1/checkpoint (baseline)    ${checkpoints.toFixed(0)} req/s`);
    console.log(`  GET /v1/keys/{key} (proven)      ${reads.toFixed(0)} req/s = ${(reads / checkpoints).toFixed(2)} x baseline`);
    console.log(`  write -> proven (2-shard tx)     p50 ${percentile(latencies, 0.5).toFixed(0)} ms, p99 ${percentile(latencies, 0.99).toFixed(0)} ms = ${(percentile(latencies, 0.5) / EPOCH_INTERVAL_MS).toFixed(2)} x epoch interval (n=${LATENCY_SAMPLES})`);
  } finally {
    await cluster.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
