// End to end on a real cluster: nats-server, two shard worker processes, the ingest gateway process,
// real HTTP. Receipts are checked against the shards' read API with @cairn/merkle's verifiers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyConsistency } from '@cairn/merkle';
import { shardOfTag } from '@cairn/wire';
import { type ShardReadClient } from '../src/index.js';
import { tempDir } from '@cairn/testkit';
import { Cluster, shardErrorCode, leafHashOf, post, verifyReceipt, until, type Receipt } from './cluster.js';

const SHARDS = 2;
let cluster: Cluster;

// Hash tags that land on each shard, found by the same function the ingest uses.
function tagOn(shard: number, salt: string): string {
  for (let i = 0; i < 1_000; i += 1) if (shardOfTag(`${salt}${i}`, SHARDS) === shard) return `${salt}${i}`;
  throw new Error(`no tag for shard ${shard}`);
}
const A = tagOn(0, 'shopA');
const B = tagOn(1, 'shopB');
const fromB64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

before(async () => {
  cluster = await Cluster.start({ shards: SHARDS });
});

after(async () => {
  await cluster?.stop();
});

async function commit(tx: unknown): Promise<Receipt> {
  const answer = await post(`${cluster.ingestUrl}/v1/transactions`, tx);
  assert.equal(answer.status, 200, `${JSON.stringify(answer.body)}\n${cluster.logs()}`);
  return answer.body as unknown as Receipt;
}

function reader(shard: number): ShardReadClient {
  return cluster.readers[shard] as ShardReadClient;
}


test('a single-shard transaction gets a receipt that the shard proves', async () => {
  const receipt = await commit({ id: 'single-1', records: [{ key: `{${A}}:order:1`, value: { total: 10 } }, { key: `{${A}}:pay:1`, value: { ok: true } }] });
  assert.equal(receipt.id, 'single-1');
  assert.deepEqual(receipt.shards.map((s) => s.shard), [0]);
  assert.deepEqual(receipt.records.map((r) => [r.key, r.version, r.shard]), [[`{${A}}:order:1`, 1, 0], [`{${A}}:pay:1`, 1, 0]]);
  await verifyReceipt(cluster, receipt);
  const tx = await reader(0).transaction('single-1');
  assert.deepEqual(tx.leaves.map((l) => l.index), receipt.records.map((r) => r.leafIndex));
  assert.equal(await shardErrorCode(reader(1).transaction('single-1')), 'SHARD_NOT_FOUND');
});

test('a cross-shard transaction is committed on both shards, each part proven', async () => {
  const receipt = await commit({ id: 'cross-1', records: [{ key: `{${A}}:nft:7`, value: 'owner-x' }, { key: `{${B}}:sale:7`, value: { price: 5 } }], meta: { kind: 'sale' } });
  assert.deepEqual(receipt.shards.map((s) => s.shard).sort(), [0, 1]);
  await verifyReceipt(cluster, receipt);
  for (const shard of [0, 1]) {
    const tx = await reader(shard).transaction('cross-1');
    assert.equal(tx.leaves.length, 1);
  }
});

test('a retry with the same id and content answers the original records; other content is a 409', async () => {
  const tx = { id: 'retry-1', records: [{ key: `{${A}}:stock:1`, value: 3 }, { key: `{${B}}:stock:1`, value: 4 }] };
  const first = await commit(tx);
  const again = await commit(tx);
  assert.deepEqual(again.records, first.records);
  assert.deepEqual(again.shards.map((s) => s.shard), first.shards.map((s) => s.shard));
  await verifyReceipt(cluster, again);
  const conflict = await post(`${cluster.ingestUrl}/v1/transactions`, { ...tx, records: [{ key: `{${A}}:stock:1`, value: 99 }, { key: `{${B}}:stock:1`, value: 4 }] });
  assert.equal(conflict.status, 409, JSON.stringify(conflict.body));
  assert.equal((conflict.body['error'] as { code: string }).code, 'id_conflict');
  // Nothing changed: one version of each key, from the first commit.
  const latest = await reader(0).latest(`{${A}}:stock:1`);
  assert.equal(latest.leaf.version, 1);
  assert.equal(latest.leaf.txId, 'retry-1');
});

test('a batch request commits every transaction, each with its own status', async () => {
  const transactions = [];
  for (let i = 0; i < 40; i += 1) transactions.push({ id: `batch-${i}`, records: [{ key: `{${i % 2 === 0 ? A : B}}:item:${i}`, value: { i } }] });
  transactions.push({ id: 'batch-bad', records: [] });
  const answer = await post(`${cluster.ingestUrl}/v1/transactions/batch`, { transactions });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const results = answer.body['results'] as { status: number; receipt?: Receipt; error?: { code: string } }[];
  assert.equal(results.length, 41);
  for (const r of results.slice(0, 40)) assert.equal(r.status, 200);
  assert.equal(results[40]?.status, 400);
  assert.equal(results[40]?.error?.code, 'empty_records');
  await verifyReceipt(cluster, results[0]?.receipt as Receipt);
  await verifyReceipt(cluster, results[39]?.receipt as Receipt);
});

test('read API: versions, history, reads at a past size, consistency proofs, typed errors', async () => {
  const key = `{${B}}:profile:1`;
  const sizes: number[] = [];
  for (let v = 1; v <= 3; v += 1) {
    const r = await commit({ records: [{ key, value: { v } }] });
    sizes.push((r.shards[0] as { size: number }).size);
  }
  const history = await reader(1).history(key);
  assert.deepEqual(history.leaves.map((l) => l.version), [1, 2, 3]);
  assert.deepEqual(history.leaves.map((l) => JSON.parse(Buffer.from(l.value as string, 'base64').toString())), [{ v: 1 }, { v: 2 }, { v: 3 }]);
  const old = await reader(1).at(key, sizes[0] as number);
  assert.equal(old.leaf.version, 1);
  assert.deepEqual(leafHashOf(old.leaf), leafHashOf(history.leaves[0]!));
  const c = await reader(1).consistency(sizes[0] as number, sizes[2] as number);
  verifyConsistency(c.size1, c.size2, c.proof.map(fromB64), fromB64(c.root1), fromB64(c.root2));
  const page = await reader(1).leaves(0, 2);
  assert.equal(page.leaves.length, 2);
  assert.equal(await shardErrorCode(reader(1).latest(`{${B}}:nothing`)), 'SHARD_NOT_FOUND');
  assert.equal(await shardErrorCode(reader(1).inclusion(0, 10_000_000)), 'SHARD_OUT_OF_RANGE');
  assert.equal(await shardErrorCode(reader(1).call({ op: 'drop-table' })), 'SHARD_BAD_REQUEST');
  assert.equal(await shardErrorCode(reader(1).call({ op: 'leaf', index: -1 })), 'SHARD_BAD_REQUEST');
  assert.equal(await shardErrorCode(reader(1).leaves(0, 1_000_000)), 'SHARD_BAD_REQUEST');
});

test('a message the shard cannot decode is applied empty: the shard keeps going', async () => {
  const before = await reader(0).head();
  const garbage = await cluster.transport.publish({ subject: 'ledger.shard.0', data: Uint8Array.of(1, 1, 0, 0, 0, 0, 0, 0, 0, 9), msgId: 'garbage-1' });
  const receipt = await commit({ id: 'after-garbage', records: [{ key: `{${A}}:after`, value: 1 }] });
  await verifyReceipt(cluster, receipt);
  const after = await reader(0).head();
  assert.ok(after.seq > garbage.seq, 'the shard applied past the bad message');
  assert.equal(after.size, before.size + 1, 'the bad message added no leaf');
  assert.match(cluster.shardProcs[0]?.output ?? '', new RegExp(`rejected message ${garbage.seq}`));
});

// Sealed cuts, then a replay of the whole stream into empty directories.
const cuts: { seq: number; heads: { size: number; root: string }[] }[] = [];

test('an epoch marker batch gives every shard an exact head at one cut', async () => {
  const before1 = await commit({ id: 'epoch-a', records: [{ key: `{${A}}:e:1`, value: 1 }, { key: `{${B}}:e:1`, value: 1 }] });
  const ack = await cluster.seal(1);
  assert.equal(ack.count, SHARDS);
  const after1 = await commit({ id: 'epoch-b', records: [{ key: `{${A}}:e:2`, value: 2 }, { key: `{${B}}:e:2`, value: 2 }] });
  const heads = await Promise.all([0, 1].map((s) => reader(s).headAt(ack.lastSeq)));
  for (const [s, head] of heads.entries()) {
    // The marker is the last message of this shard's subject at or below the cut.
    assert.ok(head.atSeq >= ack.firstSeq && head.atSeq <= ack.lastSeq, JSON.stringify(head));
    const inBefore = before1.records.find((r) => r.shard === s) as { leafIndex: number };
    const inAfter = after1.records.find((r) => r.shard === s) as { leafIndex: number };
    assert.ok(inBefore.leafIndex < head.size, 'committed before the cut: inside it');
    assert.ok(inAfter.leafIndex >= head.size, 'committed after the cut: outside it');
    const proof = await reader(s).inclusion(inBefore.leafIndex, head.size);
    assert.equal(proof.root, head.root);
  }
  cuts.push({ seq: ack.lastSeq, heads: heads.map((h) => ({ size: h.size, root: h.root })) });
  // A sequence beyond the stream's end is not a cut yet: a later message could still fall below it.
  assert.equal(await shardErrorCode(reader(0).headAt(ack.lastSeq + 1_000_000)), 'SHARD_OUT_OF_RANGE');
});

test('replaying the stream into empty shard directories reproduces byte-identical roots', async () => {
  const ack = await cluster.seal(2);
  const finals = await Promise.all([0, 1].map((s) => reader(s).headAt(ack.lastSeq)));
  cuts.push({ seq: ack.lastSeq, heads: finals.map((h) => ({ size: h.size, root: h.root })) });
  for (let s = 0; s < SHARDS; s += 1) {
    await cluster.shardProcs[s]?.stop();
    // Another merge setting on purpose: merging is a performance choice and must not change roots.
    const dir = tempDir(`replay${s}`);
    cluster.dirs.push(dir);
    const replay = cluster.shardProc(s, dir.path, `replay-${s}`, { CAIRN_MERGE_MSGS_MAX: '1' });
    cluster.shardProcs[s] = replay;
    await replay.start();
  }
  for (let s = 0; s < SHARDS; s += 1) {
    const last = (cuts[cuts.length - 1] as { seq: number }).seq;
    // headAt waits (bounded) until the replay has applied every message of its subject up to the cut.
    await until(`replay of shard ${s}`, 20_000, async () => (await reader(s).headAt(last).then(() => true, () => false)));
    for (const cut of cuts) {
      const head = await reader(s).headAt(cut.seq);
      assert.deepEqual({ size: head.size, root: head.root }, cut.heads[s], `shard ${s} at cut ${cut.seq}`);
    }
  }
});
