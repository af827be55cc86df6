// Measures what merging consumed messages into one storage append, and keeping appends in flight,
// buy: the same stream of shard messages is applied to a fresh store with merge_msgs_max = 1 and one
// append at a time (the baseline) and with larger merges and more appends in flight, in the same
// run. Prints messages/s, transactions/s and the ratios to the baseline and to the same merge with
// one append in flight. Not a test. Run: npm run bench -w @cairn/shard
import { createHash } from 'node:crypto';
import { openStore } from '@cairn/storage';
import { tempDir } from '@cairn/testkit';
import { encodeShardMessage, type TxPart } from '@cairn/wire';
import { Applier, storageLimitsForShard, type InboundMessage } from '../src/index.js';

const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 1_000);
const FETCH = 64;
const INFLIGHT = [1, 2, 3];
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

async function run(msgs: readonly InboundMessage[], mergeMsgsMax: number, inflight: number): Promise<{ ms: number; txs: number; appends: number }> {
  const dir = tempDir('shard-bench');
  const store = await openStore({ dir: dir.path, limits: storageLimitsForShard });
  const applier = new Applier(store, {
    layout: { shard: 0, shards: 1 },
    limits: { merge_msgs_max: mergeMsgsMax, merge_records_max: 100_000, merge_bytes_max: 32 * 1_048_576 },
    boundaries_max: 65_536,
    appends_inflight_max: inflight,
    publish: () => undefined,
    log: () => undefined,
  });
  const started = performance.now();
  // Fetch-sized slices, as the consumer hands them over.
  for (let i = 0; i < msgs.length; i += FETCH) await applier.apply(msgs.slice(i, i + FETCH));
  await applier.drain();
  const ms = performance.now() - started;
  const { txs, appends } = applier.stats;
  await store.close();
  dir.remove();
  return { ms, txs, appends };
}

async function main(): Promise<void> {
  console.log(`apply ${MESSAGES} shard messages, consumer pulls of ${FETCH}, 1 record per transaction`);
  for (const txsPerMessage of [1, 20]) {
    const msgs = messages(txsPerMessage);
    let baseline = 0;
    for (const merge of [1, 8, 64]) {
      let oneInFlight = 0;
      for (const inflight of INFLIGHT) {
        const r = await run(msgs, merge, inflight);
        const msgsPerS = (MESSAGES / r.ms) * 1000;
        if (merge === 1 && inflight === 1) baseline = msgsPerS;
        if (inflight === 1) oneInFlight = msgsPerS;
        console.log(
          `  ${String(txsPerMessage).padStart(2)} txs/msg  merge_msgs_max ${String(merge).padStart(2)}  in flight ${inflight}: ` +
            `${msgsPerS.toFixed(0).padStart(6)} msgs/s ${((r.txs / r.ms) * 1000).toFixed(0).padStart(7)} txs/s  ${String(r.appends).padStart(4)} appends  ` +
            `x${(msgsPerS / baseline).toFixed(2)} vs merge 1  x${(msgsPerS / oneInFlight).toFixed(2)} vs 1 in flight`,
        );
      }
    }
  }
}

await main();
