// Measures what merging consumed messages into one storage append, and keeping appends in flight,
// buy: the same stream of shard messages is applied to a fresh store with merge_msgs_max = 1 and one
// append at a time (the baseline) and with larger merges and more appends in flight, in the same
// run. Prints messages/s, transactions/s and the ratios to the baseline and to the same merge with
// one append in flight, as medians over rounds that alternate the settings. Not a test.
// Run: npm run bench -w @cairn/shard (BENCH_MESSAGES, BENCH_ROUNDS to change the size)
import { createHash } from 'node:crypto';
import { openStore } from '@cairn/storage';
import { tempDir } from '@cairn/testkit';
import { encodeShardMessage, type TxPart } from '@cairn/wire';
import { Applier, ShardMetrics, storageLimitsForShard, type InboundMessage } from '../src/index.js';

const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 1_000);
const FETCH = 64;
const INFLIGHT = [1, 2, 3];
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const utf8 = new TextEncoder();

function messages(txsPerMessage: number): InboundMessage[] {
  const out: InboundMessage[] = [];
  let n = 0;
  for (let seq = 1; seq <= MESSAGES; seq += 1) {
    const txs: TxPart[] = [];
    for (let t = 0; t < txsPerMessage; t += 1, n += 1) {
      const value = utf8.encode(JSON.stringify({ n, item: 'sku-1', qty: n % 7 }));
      const contentHash = new Uint8Array(createHash('sha256').update(value).digest());
      txs.push({ id: `tx-${n}`, contentHash, meta: utf8.encode('{}'), shards: [0], records: [{ key: `{shop${n % 100}}:order:${n}`, value, expect: undefined }] });
    }
    out.push({ seq, data: encodeShardMessage({ shard: 0, txs }) });
  }
  return out;
}

async function run(msgs: readonly InboundMessage[], mergeMsgsMax: number, inflight: number): Promise<{ ms: number; appends: number }> {
  const dir = tempDir('shard-bench');
  const store = await openStore({ dir: dir.path, limits: storageLimitsForShard });
  // As the worker runs it: the append histogram is observed (stats are counted either way).
  const metrics = new ShardMetrics(0, 1);
  const applier = new Applier(store, {
    layout: { shard: 0, shards: 1 },
    limits: { merge_msgs_max: mergeMsgsMax, merge_records_max: 100_000, merge_bytes_max: 32 * 1_048_576 },
    boundaries_max: 65_536,
    appends_inflight_max: inflight,
    publish: () => undefined,
    log: () => undefined,
    observeAppend: metrics.observeAppend,
  });
  const started = performance.now();
  // Fetch-sized slices, as the consumer hands them over.
  for (let i = 0; i < msgs.length; i += FETCH) await applier.apply(msgs.slice(i, i + FETCH));
  await applier.drain();
  const ms = performance.now() - started;
  const { appends } = applier.stats;
  metrics.stop();
  await store.close();
  dir.remove();
  return { ms, appends };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main(): Promise<void> {
  console.log(`apply ${MESSAGES} shard messages, consumer pulls of ${FETCH}, 1 record per transaction; median of ${ROUNDS} rounds (min-max)`);
  for (const txsPerMessage of [1, 20]) {
    const msgs = messages(txsPerMessage);
    let baseline = 0;
    for (const merge of [1, 8, 64]) {
      // Rounds alternate the in-flight settings so that a slow spell of the disk hits them alike.
      const rates = new Map<number, number[]>(INFLIGHT.map((n) => [n, []]));
      const appends = new Map<number, number>();
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const inflight of INFLIGHT) {
          const r = await run(msgs, merge, inflight);
          rates.get(inflight)?.push((MESSAGES / r.ms) * 1000);
          appends.set(inflight, r.appends);
        }
      }
      const oneInFlight = median(rates.get(1) ?? []);
      if (merge === 1) baseline = oneInFlight;
      for (const inflight of INFLIGHT) {
        const xs = rates.get(inflight) ?? [];
        const msgsPerS = median(xs);
        console.log(
          `  ${String(txsPerMessage).padStart(2)} txs/msg  merge_msgs_max ${String(merge).padStart(2)}  in flight ${inflight}: ` +
            `${msgsPerS.toFixed(0).padStart(6)} msgs/s (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}) ` +
            `${(msgsPerS * txsPerMessage).toFixed(0).padStart(7)} txs/s  ${String(appends.get(inflight)).padStart(5)} appends  ` +
            `x${(msgsPerS / baseline).toFixed(2)} vs merge 1  x${(msgsPerS / oneInFlight).toFixed(2)} vs 1 in flight`,
        );
      }
    }
  }
}

await main();
