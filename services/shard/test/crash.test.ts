// Crashes on a real cluster: kill -9 of a shard worker under load and its restart, then a kill -9
// of nats-server and its restart on the same store. After each: every acknowledged transaction is
// present exactly once, and no cross-shard transaction is half applied, at any sealed cut.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { shardOfTag } from '@cairn/wire';
import type { ShardReadClient } from '../src/index.js';
import { Cluster, post, until, type Receipt } from './cluster.js';

const SHARDS = 2;
const CLIENTS = 6;
const TXS_PER_REQUEST = 10;
const LOAD_MS = 4_000;
const REQUESTS_MAX = 2_000;

let cluster: Cluster;

function tagsOn(shard: number, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count && i < 10_000; i += 1) if (shardOfTag(`t${i}`, SHARDS) === shard) out.push(`t${i}`);
  return out;
}
const tags = [tagsOn(0, 8), tagsOn(1, 8)];

interface Sent {
  readonly id: string;
  // shard -> number of records on it
  readonly parts: Map<number, number>;
}

const sent = new Map<string, Sent>();
const acked = new Map<string, Receipt>();
const cuts: number[] = [];

let nextTx = 0;
let probes = 0;
function makeTx(): { tx: unknown; sent: Sent } {
  const n = nextTx++;
  const id = `load-${n}`;
  // Two in three transactions touch both shards, with one to three records on each.
  const shards = n % 3 === 0 ? [n % 2] : [0, 1];
  const records = [];
  const parts = new Map<number, number>();
  for (const s of shards) {
    const count = 1 + (n % 3);
    parts.set(s, count);
    const list = tags[s] as string[];
    for (let r = 0; r < count; r += 1) records.push({ key: `{${list[(n + r) % list.length]}}:k:${n}:${r}`, value: { n, r } });
  }
  return { tx: { id, records, meta: { n } }, sent: { id, parts } };
}

/** Sends batch requests from CLIENTS loops until `stop` says so; bounded by REQUESTS_MAX each. */
async function load(stop: () => boolean): Promise<{ ok: number; failed: number }> {
  const tally = { ok: 0, failed: 0 };
  const client = async (): Promise<void> => {
    for (let i = 0; i < REQUESTS_MAX && !stop(); i += 1) {
      const batch = [];
      for (let j = 0; j < TXS_PER_REQUEST; j += 1) {
        const { tx, sent: s } = makeTx();
        sent.set(s.id, s);
        batch.push(tx);
      }
      try {
        const answer = await post(`${cluster.ingestUrl}/v1/transactions/batch`, { transactions: batch }, 20_000);
        if (answer.status !== 200) {
          tally.failed += TXS_PER_REQUEST;
          await sleep(50);
          continue;
        }
        for (const r of answer.body['results'] as { status: number; receipt?: Receipt }[]) {
          if (r.status === 200 && r.receipt !== undefined) {
            acked.set(r.receipt.id, r.receipt);
            tally.ok += 1;
          } else {
            tally.failed += 1;
          }
        }
      } catch {
        tally.failed += TXS_PER_REQUEST;
        await sleep(50);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return tally;
}

/** Seals an epoch every `everyMs` until `stop`; records each cut. */
async function sealer(stop: () => boolean, everyMs: number): Promise<void> {
  for (let epoch = cuts.length + 1; !stop() && epoch < 10_000; epoch += 1) {
    try {
      cuts.push((await cluster.seal(epoch)).lastSeq);
    } catch {
      // the broker may be down in the nats test: the next round tries again
    }
    await sleep(everyMs);
  }
}

function reader(shard: number): ShardReadClient {
  return cluster.readers[shard] as ShardReadClient;
}

/** Every leaf of every shard: txId -> shard -> leaf indexes. */
async function scan(): Promise<Map<string, Map<number, number[]>>> {
  const byTx = new Map<string, Map<number, number[]>>();
  for (let s = 0; s < SHARDS; s += 1) {
    const { size } = await reader(s).head();
    for (let start = 0; start < size; start += 1_000) {
      const page = await reader(s).leaves(start, Math.min(1_000, size - start));
      for (const leaf of page.leaves) {
        let shards = byTx.get(leaf.txId);
        if (shards === undefined) byTx.set(leaf.txId, (shards = new Map()));
        const list = shards.get(s) ?? [];
        list.push(leaf.index);
        shards.set(s, list);
      }
    }
  }
  return byTx;
}

async function checkLedger(label: string): Promise<void> {
  const byTx = await scan();
  // Every acknowledged transaction: present on each shard it touches, with exactly its records,
  // at exactly the leaves its receipt names (so never applied twice).
  for (const [id, receipt] of acked) {
    const s = sent.get(id) as Sent;
    const found = byTx.get(id);
    assert.ok(found !== undefined, `${label}: acknowledged ${id} is missing`);
    for (const [shard, count] of s.parts) {
      assert.equal(found.get(shard)?.length, count, `${label}: ${id} has ${found.get(shard)?.length} leaves on shard ${shard}, sent ${count}`);
      const named = receipt.records.filter((r) => r.shard === shard).map((r) => r.leafIndex);
      assert.deepEqual(found.get(shard), named, `${label}: ${id} leaves differ from its receipt`);
    }
  }
  // Every transaction in the ledger: whole (all its parts, each exactly once) or absent.
  for (const [id, shards] of byTx) {
    const s = sent.get(id);
    if (s === undefined) continue; // written by another test step
    for (const [shard, count] of s.parts) assert.equal(shards.get(shard)?.length, count, `${label}: ${id} is half applied or doubled`);
  }
  // At every sealed cut, a cross-shard transaction is inside on all its shards or on none.
  for (const cut of cuts) {
    const sizes = await Promise.all([0, 1].map(async (s) => (await reader(s).headAt(cut)).size));
    for (const [id, shards] of byTx) {
      const s = sent.get(id);
      if (s === undefined || s.parts.size < 2) continue;
      const inside = [...shards].map(([shard, leaves]) => leaves.every((i) => i < (sizes[shard] as number)));
      const partly = [...shards].map(([shard, leaves]) => leaves.some((i) => i < (sizes[shard] as number)));
      assert.ok(inside.every((x) => x) || !partly.some((x) => x), `${label}: ${id} is half inside cut ${cut} (sizes ${sizes})`);
    }
  }
}

before(async () => {
  // A short commit wait: a request whose shard died answers 504 in seconds, not ten.
  cluster = await Cluster.start({ shards: SHARDS, ingestEnv: { CAIRN_COMMIT_WAIT_MS_MAX: '3000' } });
});

after(async () => {
  await cluster?.stop();
});

test('kill -9 of a shard worker under load, then its restart: nothing acknowledged lost or doubled, no half transaction at any cut', async () => {
  let stop = false;
  const started = Date.now();
  const loading = load(() => stop);
  const sealing = sealer(() => stop, 150);
  await sleep(LOAD_MS / 3);
  const victim = cluster.shardProcs[1];
  await victim?.kill();
  await sleep(300);
  await victim?.start();
  // The kill came after commits: the restart resumed from a committed sequence, not from zero.
  assert.match(victim?.output ?? '', /serving shard 1\/2 .*seq 0,[^]*serving shard 1\/2 .*seq [1-9]/);
  while (Date.now() - started < LOAD_MS) await sleep(50);
  stop = true;
  const tally = await loading;
  await sealing;
  cuts.push((await cluster.seal(100_000)).lastSeq);
  assert.ok(tally.ok > 100, `only ${tally.ok} transactions acknowledged (${tally.failed} failed)\n${cluster.logs()}`);
  console.log(`shard crash: ${tally.ok} acknowledged, ${tally.failed} failed, ${cuts.length} cuts`);
  await checkLedger('after the shard crash');
});

test('kill -9 of nats-server and its restart on the same store: the cluster resumes, nothing acknowledged is lost', async () => {
  const before = acked.size;
  let stop = false;
  const loading = load(() => stop);
  await sleep(800);
  await cluster.nats.kill();
  await sleep(500);
  await cluster.nats.restart();
  // The cluster is back once a fresh transaction commits end to end again.
  await until('a commit after the restart', 30_000, async () => {
    const answer = await post(`${cluster.ingestUrl}/v1/transactions`, { records: [{ key: `{${tags[0]?.[0]}}:probe`, value: probes++ }] }).catch(() => undefined);
    return answer?.status === 200;
  });
  await sleep(800);
  stop = true;
  const tally = await loading;
  cuts.push((await cluster.seal(200_000)).lastSeq);
  console.log(`nats crash: ${tally.ok} acknowledged, ${tally.failed} failed`);
  assert.ok(acked.size > before, 'transactions were acknowledged after the restart');
  await checkLedger('after the nats crash');
});
