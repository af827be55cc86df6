// End to end on a real cluster: nats-server, two shard worker processes, the ingest gateway and the
// proof service as processes, real HTTP. Writes go through the ingest; every read from the proof
// service is verified here link by link (record leaf -> shard root -> global state leaf ->
// state-log root -> signed checkpoint) with @cairn/merkle, @cairn/checkpoint and @cairn/wire only.
import { after, before, test } from 'node:test';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runNode, startCluster, tempDir, until, type Cluster, type RunResult } from '@cairn/testkit';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@cairn/checkpoint';
import { CairnClient } from '@cairn/client';
import { verifyConsistency } from '@cairn/merkle';
import { prometheusContentType } from '@cairn/telemetry';
import { parseExposition, type Family } from '@cairn/telemetry/exposition-parser';
import { shardOfTag, type GlobalState } from '@cairn/wire';
import {
  cliMain,
  fromB64,
  http,
  openNote,
  valueOf,
  verifyRecord,
  verifyState,
  type RecordJson,
  type StateJson,
} from './cluster.js';

const SHARDS = 2;
const ORIGIN = 'test.cairn/proof-e2e';
const keys = generateKeyPair(ORIGIN);
const WAIT_MS = 15_000;
const CLI_MS_MAX = 30_000;
let cluster: Cluster;

function tagOn(shard: number, salt: string): string {
  for (let i = 0; i < 1_000; i += 1) if (shardOfTag(`${salt}${i}`, SHARDS) === shard) return `${salt}${i}`;
  throw new Error(`no tag for shard ${shard}`);
}
const A = tagOn(0, 'shopA');
const B = tagOn(1, 'shopB');

before(async () => {
  cluster = await startCluster({ shards: SHARDS, name: 'proof', proof: { origin: ORIGIN, signerKey: keys.signerKey, epochIntervalMs: 50 } });
});

after(async () => {
  await cluster?.stop();
});

async function write(tx: unknown): Promise<{ id: string; records: { key: string; version: number; shard: number; leafIndex: number }[] }> {
  const a = await http(`${cluster.ingestUrl}/v1/transactions`, { body: tx });
  assert.equal(a.status, 200, `${a.text}\n${cluster.logs()}`);
  return a.body as never;
}

interface Signed {
  note: string;
  size: number;
  root: Uint8Array;
}

async function checkpoint(): Promise<Signed> {
  const a = await http(`${cluster.proofUrl}/v1/checkpoint`);
  assert.equal(a.status, 200);
  assert.match(a.headers.get('content-type') ?? '', /^text\/plain/);
  const cp = openNote(a.text, keys.verifierKey, ORIGIN);
  return { note: a.text, size: cp.size, root: cp.rootHash };
}

/** GET a data route once it answers 200 (the write may not be in a signed state yet). */
async function getProven(path: string): Promise<Record<string, unknown>> {
  return until(`${path} to be proven`, WAIT_MS, async () => {
    const a = await http(`${cluster.proofUrl}${path}`);
    // 404: not in a signed state yet; 503: no epoch sealed yet right after start.
    if (a.status === 404 || a.status === 503) return undefined;
    assert.equal(a.status, 200, `${path}: ${a.text}`);
    return a.body;
  });
}

/** Verifies the answer's checkpoint and state; returns them. */
function verifyEnvelope(body: Record<string, unknown>): { signed: Signed; state: GlobalState } {
  const note = body['checkpoint'] as string;
  const cp = openNote(note, keys.verifierKey, ORIGIN);
  const state = verifyState(body['state'] as StateJson, cp.size, cp.rootHash, ORIGIN);
  return { signed: { note, size: cp.size, root: cp.rootHash }, state };
}

const enc = (key: string): string => encodeURIComponent(key);

test('latest value of a key, proven from record leaf to the signed checkpoint', async () => {
  const key = `{${A}}:order/1`; // "/" travels as %2F
  const receipt = await write({ id: 'latest-1', records: [{ key, value: { total: 42 } }], meta: { shop: 'A' } });
  const body = await getProven(`/v1/keys/${enc(key)}`);
  const { state } = verifyEnvelope(body);
  const record = body['record'] as RecordJson;
  verifyRecord(record, state, SHARDS);
  assert.equal(record.entry.key, key);
  assert.equal(record.entry.txId, 'latest-1');
  assert.equal(record.entry.version, 1);
  assert.equal(record.leafIndex, receipt.records[0]?.leafIndex);
  assert.deepEqual(valueOf(record), { total: 42 });
  assert.equal(Buffer.from(fromB64(record.meta)).toString(), '{"shop":"A"}');
  assert.equal(record.erased, false);

  // A changed value byte must fail the check this test relies on (the test can fail).
  const forged = { ...record, value: Buffer.from('{"total":43}').toString('base64') };
  assert.throws(() => verifyRecord(forged, state, SHARDS), /value hash mismatch/);
});

test('checkpoint: text note by default, JSON with Accept, both the same signed head', async () => {
  const text = await checkpoint();
  const a = await http(`${cluster.proofUrl}/v1/checkpoint`, { accept: 'application/json' });
  assert.equal(a.status, 200);
  const cp = openNote(a.body['checkpoint'] as string, keys.verifierKey, ORIGIN);
  assert.equal(a.body['origin'], ORIGIN);
  assert.equal(a.body['size'], cp.size);
  assert.deepEqual(fromB64(a.body['root']), cp.rootHash);
  assert.ok(cp.size >= text.size);
});

test('time travel with ?at and history: every version proven at its state', async () => {
  const key = `{${A}}:stock:7`;
  await write({ id: 'tt-1', records: [{ key, value: { qty: 1 } }] });
  const v1 = await getProven(`/v1/keys/${enc(key)}`);
  const at1 = verifyEnvelope(v1).signed.size;
  await write({ id: 'tt-2', records: [{ key, value: { qty: 2 } }] });
  const v2 = await until('version 2', WAIT_MS, async () => {
    const b = await getProven(`/v1/keys/${enc(key)}`);
    return (b['record'] as RecordJson).entry.version === 2 ? b : undefined;
  });
  const now = verifyEnvelope(v2);
  verifyRecord(v2['record'] as RecordJson, now.state, SHARDS);
  assert.deepEqual(valueOf(v2['record'] as RecordJson), { qty: 2 });

  const past = await getProven(`/v1/keys/${enc(key)}?at=${at1}`);
  const pastEnv = verifyEnvelope(past);
  assert.equal(pastEnv.state.epoch, at1, 'the state proven is state `at`');
  assert.ok(pastEnv.signed.size >= now.signed.size, 'still proven into the current checkpoint');
  const pastRecord = past['record'] as RecordJson;
  verifyRecord(pastRecord, pastEnv.state, SHARDS);
  assert.equal(pastRecord.entry.version, 1);
  assert.deepEqual(valueOf(pastRecord), { qty: 1 });

  // Before the key existed: not_found, from the error table.
  const before = await http(`${cluster.proofUrl}/v1/keys/${enc(key)}?at=1`);
  if (before.status !== 200) {
    assert.equal(before.status, 404);
    assert.equal((before.body['error'] as { code: string }).code, 'not_found');
  }

  const history = await getProven(`/v1/keys/${enc(key)}/history`);
  const h = verifyEnvelope(history);
  const records = history['records'] as RecordJson[];
  assert.deepEqual(records.map((r) => r.entry.version), [1, 2]);
  for (const r of records) {
    assert.equal(r.entry.key, key);
    verifyRecord(r, h.state, SHARDS);
  }
  assert.deepEqual(records.map(valueOf), [{ qty: 1 }, { qty: 2 }]);
});

test('a cross-shard transaction is proven on both shards at one checkpoint', async () => {
  const receipt = await write({
    id: 'cross-1',
    records: [
      { key: `{${A}}:nft:9`, value: { owner: 'bob' } },
      { key: `{${B}}:sale:9`, value: { price: 100 } },
    ],
    meta: { kind: 'nft-sale' },
  });
  assert.deepEqual([...new Set(receipt.records.map((r) => r.shard))].sort(), [0, 1]);
  const body = await getProven('/v1/transactions/cross-1');
  const { state } = verifyEnvelope(body);
  const records = body['records'] as RecordJson[];
  assert.deepEqual(records.map((r) => r.shard).sort(), [0, 1]);
  for (const r of records) {
    assert.equal(r.entry.txId, 'cross-1');
    verifyRecord(r, state, SHARDS);
  }
  assert.deepEqual(records.map((r) => r.entry.key).sort(), [`{${A}}:nft:9`, `{${B}}:sale:9`]);
});

test('consistency between two checkpoints: state log and every shard', async () => {
  const first = await checkpoint();
  await write({ id: 'cons-1', records: [{ key: `{${A}}:c:1`, value: 1 }, { key: `{${B}}:c:1`, value: 1 }] });
  await getProven('/v1/transactions/cons-1');
  const second = await checkpoint();
  assert.ok(second.size > first.size);
  const a = await http(`${cluster.proofUrl}/v1/consistency?from=${first.size}&to=${second.size}`);
  assert.equal(a.status, 200, a.text);
  const b = a.body;
  verifyConsistency(first.size, second.size, (b['proof'] as string[]).map(fromB64), first.root, second.root);
  const from = verifyState(b['from'] as StateJson, second.size, second.root, ORIGIN);
  const to = verifyState(b['to'] as StateJson, second.size, second.root, ORIGIN);
  assert.equal(from.epoch, first.size);
  assert.equal(to.epoch, second.size);
  const shards = b['shards'] as { shard: number; proof: string[] }[];
  assert.deepEqual(shards.map((s) => s.shard), [0, 1]);
  let grew = 0;
  for (const s of shards) {
    const h1 = from.shards[s.shard];
    const h2 = to.shards[s.shard];
    assert.ok(h1 !== undefined && h2 !== undefined);
    if (h1.size === 0) continue;
    if (h2.size > h1.size) grew += 1;
    verifyConsistency(h1.size, h2.size, s.proof.map(fromB64), h1.root, h2.root);
  }
  assert.equal(grew, 2, 'both shards grew between the two checkpoints');
  // A wrong old root must not verify (the check can fail).
  assert.throws(() => verifyConsistency(first.size, second.size, (b['proof'] as string[]).map(fromB64), second.root, second.root));
});

test('shard consistency: from a shard size of an older signed state to a newer one, over the real shards', async () => {
  await write({ id: 'scons-1', records: [{ key: `{${A}}:sc:1`, value: 1 }, { key: `{${B}}:sc:1`, value: 1 }] });
  const older = verifyEnvelope(await getProven('/v1/transactions/scons-1')).state;
  await write({ id: 'scons-2', records: [{ key: `{${A}}:sc:2`, value: 2 }, { key: `{${B}}:sc:2`, value: 2 }] });
  const newer = verifyEnvelope(await getProven('/v1/transactions/scons-2')).state;
  for (let shard = 0; shard < SHARDS; shard += 1) {
    const h1 = older.shards[shard];
    const h2 = newer.shards[shard];
    assert.ok(h1 !== undefined && h2 !== undefined && h1.size >= 1 && h2.size > h1.size, `shard ${shard} grew`);
    const a = await http(`${cluster.proofUrl}/v1/shards/${shard}/consistency?from=${h1.size}&to=${h2.size}`);
    assert.equal(a.status, 200, a.text);
    assert.deepEqual([a.body['shard'], a.body['from'], a.body['to']], [shard, h1.size, h2.size]);
    const proof = (a.body['proof'] as string[]).map(fromB64);
    verifyConsistency(h1.size, h2.size, proof, h1.root, h2.root);
    assert.throws(() => verifyConsistency(h1.size, h2.size, proof, h2.root, h2.root), 'a wrong old root must not verify');
  }
  // Past any signed size of the shard: not served, even though the shard may hold it by now.
  const past = await http(`${cluster.proofUrl}/v1/shards/0/consistency?from=1&to=${Number.MAX_SAFE_INTEGER}`);
  assert.equal(past.status, 404, past.text);
  assert.equal((past.body['error'] as { code: string }).code, 'not_found');
});

test('bad input gets codes from the error table; openapi and healthz answer', async () => {
  const cases: [string, number, string][] = [
    ['/v1/keys/%7Bnever%7D:missing', 404, 'not_found'],
    ['/v1/keys/x?at=0', 400, 'bad_query'],
    ['/v1/keys/x?at=abc', 400, 'bad_query'],
    ['/v1/keys/x?at=99999999', 404, 'not_found'],
    ['/v1/keys/%7Bopen', 400, 'bad_hash_tag'],
    ['/v1/keys/%E0%A4%A', 400, 'bad_query'],
    ['/v1/transactions/no-such-tx', 404, 'not_found'],
    ['/v1/transactions/bad%20id', 400, 'invalid_id'],
    ['/v1/consistency', 400, 'bad_query'],
    ['/v1/consistency?from=3&to=2', 400, 'bad_query'],
    ['/v1/nope', 404, 'not_found'],
  ];
  for (const [path, status, code] of cases) {
    const a = await http(`${cluster.proofUrl}${path}`);
    assert.equal(a.status, status, `${path}: ${a.text}`);
    assert.equal((a.body['error'] as { code: string }).code, code, path);
  }
  const post = await http(`${cluster.proofUrl}/v1/checkpoint`, { body: {} });
  assert.equal(post.status, 405);
  const api = await http(`${cluster.proofUrl}/openapi.json`);
  assert.equal(api.status, 200);
  const paths = Object.keys(api.body['paths'] as object);
  for (const p of ['/v1/checkpoint', '/v1/keys/{key}', '/v1/keys/{key}/history', '/v1/transactions/{id}', '/v1/consistency', '/v1/shards/{shard}/consistency']) assert.ok(paths.includes(p), p);
  const health = await http(`${cluster.proofUrl}/healthz`);
  assert.equal(health.status, 200);
});

test('metrics: the proof and ingest processes count the epochs, shard requests, reads and writes this test caused', async () => {
  const scrape = async (url: string): Promise<Map<string, Family>> => {
    const a = await http(`${url}/metrics`);
    assert.equal(a.status, 200, a.text);
    assert.equal(a.headers.get('content-type'), prometheusContentType);
    return parseExposition(a.text);
  };
  const value = (f: Map<string, Family>, family: string, name: string, labels: Record<string, string> = {}): number => {
    // A labelled series appears on first use: absent is 0.
    const s = f.get(family)?.samples.find((x) => x.name === name && JSON.stringify(Object.entries(x.labels).sort()) === JSON.stringify(Object.entries(labels).sort()));
    return s?.value ?? 0;
  };
  const proofBefore = await scrape(cluster.proofUrl);
  const ingestBefore = await scrape(cluster.ingestUrl);
  const key = `{${A}}:metrics/1`;
  await write({ records: [{ key, value: 1 }] });
  await getProven(`/v1/keys/${enc(key)}`);
  assert.equal((await http(`${cluster.proofUrl}/v1/keys/${enc(key)}/history`)).status, 200);
  const signedSize = (await checkpoint()).size;
  const proof = await scrape(cluster.proofUrl);
  const ingest = await scrape(cluster.ingestUrl);
  const delta = (after: Map<string, Family>, before: Map<string, Family>, family: string, name: string, labels: Record<string, string> = {}): number =>
    value(after, family, name, labels) - value(before, family, name, labels);

  const requests = 'cairn_proof_http_requests_total';
  assert.equal(delta(proof, proofBefore, requests, requests, { route: '/v1/keys/{key}', method: 'GET', code: '200' }), 1);
  assert.equal(delta(proof, proofBefore, requests, requests, { route: '/v1/keys/{key}/history', method: 'GET', code: '200' }), 1);
  const duration = 'cairn_proof_http_request_duration_seconds';
  assert.ok(delta(proof, proofBefore, duration, `${duration}_count`, { route: '/v1/keys/{key}/history' }) === 1);
  // The read was proven only once an epoch had sealed the write.
  assert.ok(delta(proof, proofBefore, 'cairn_proof_epochs_total', 'cairn_proof_epochs_total', { outcome: 'appended' }) >= 1);
  assert.ok(delta(proof, proofBefore, 'cairn_proof_seal_duration_seconds', 'cairn_proof_seal_duration_seconds_count') >= 1);
  assert.ok(value(proof, 'cairn_proof_signed_size', 'cairn_proof_signed_size') >= signedSize);
  assert.ok(Math.abs(value(proof, 'cairn_proof_last_seal_timestamp_seconds', 'cairn_proof_last_seal_timestamp_seconds') - Date.now() / 1000) < 60);
  const shard = 'cairn_proof_shard_requests_total';
  assert.ok(delta(proof, proofBefore, shard, shard, { op: 'headAt', result: 'ok' }) >= SHARDS);
  // A proven read is one shard request (record, inclusion proof and meta together), not three.
  assert.equal(delta(proof, proofBefore, shard, shard, { op: 'proven', result: 'ok' }), 1);
  assert.equal(delta(proof, proofBefore, shard, shard, { op: 'at', result: 'ok' }), 0);
  assert.ok(delta(proof, proofBefore, shard, shard, { op: 'history', result: 'ok' }) >= 1);

  const writes = 'cairn_ingest_http_requests_total';
  assert.equal(delta(ingest, ingestBefore, writes, writes, { route: '/v1/transactions', method: 'POST', code: '200' }), 1);
  assert.equal(delta(ingest, ingestBefore, 'cairn_ingest_transactions_total', 'cairn_ingest_transactions_total', { outcome: 'committed' }), 1);
  assert.equal(delta(ingest, ingestBefore, 'cairn_ingest_commit_wait_seconds', 'cairn_ingest_commit_wait_seconds_count'), 1);
  for (const f of [proof, ingest]) {
    assert.ok(value(f, 'process_resident_memory_bytes', 'process_resident_memory_bytes') > 0);
    assert.equal(f.get('cairn_telemetry_series_dropped_total')?.samples.length, 0);
  }
});

test('epochs are atomic cuts: no state shows half of a cross-shard transaction under concurrent writes', async () => {
  const WRITERS = 4;
  const TXS_PER_WRITER = 25;
  const receipts: { id: string; records: { shard: number; leafIndex: number }[] }[] = [];
  const startSize = (await checkpoint()).size;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; i < TXS_PER_WRITER; i += 1) {
        const id = `atomic-${w}-${i}`;
        receipts.push(await write({ id, records: [{ key: `{${A}}:a:${w}:${i}`, value: i }, { key: `{${B}}:b:${w}:${i}`, value: i }] }));
      }
    }),
  );
  const lastId = receipts[receipts.length - 1]?.id as string;
  await getProven(`/v1/transactions/${lastId}`);
  const end = await checkpoint();
  assert.ok(end.size - startSize >= 2, `expected several epochs during the writes, got ${end.size - startSize}`);
  let cutsBetween = 0;
  // Every state sealed during the writes, each proven into the final checkpoint.
  for (let e = startSize; e <= end.size; e += 1) {
    const a = await http(`${cluster.proofUrl}/v1/consistency?from=${e}&to=${end.size}`);
    assert.equal(a.status, 200, a.text);
    const state = verifyState(a.body['from'] as StateJson, end.size, end.root, ORIGIN);
    assert.equal(state.epoch, e);
    for (const r of receipts) {
      const inTree = r.records.map((rec) => rec.leafIndex < (state.shards[rec.shard]?.size ?? 0));
      assert.ok(inTree.every((x) => x) || inTree.every((x) => !x), `state ${e} holds half of ${r.id}`);
      if (inTree[0] === false) cutsBetween += 1;
    }
  }
  assert.ok(cutsBetween > 0, 'some state was sealed before some transaction (the check saw both sides)');
});

test('restart: the proof service resumes its state log and keeps signing consistently', async () => {
  await write({ id: 'restart-1', records: [{ key: `{${A}}:r:1`, value: 1 }] });
  await getProven('/v1/transactions/restart-1');
  const before = await checkpoint();
  await cluster.proof.stop();
  await cluster.startProof();
  const resumed = await checkpoint();
  assert.ok(resumed.size >= before.size, 'no rollback after restart');
  if (resumed.size === before.size) assert.equal(resumed.note, before.note, 'same head, same deterministic signature');
  await write({ id: 'restart-2', records: [{ key: `{${A}}:r:2`, value: 2 }, { key: `{${B}}:r:2`, value: 2 }] });
  const body = await getProven('/v1/transactions/restart-2');
  const { signed, state } = verifyEnvelope(body);
  for (const r of body['records'] as RecordJson[]) verifyRecord(r, state, SHARDS);
  assert.ok(signed.size > before.size);
  const c = await http(`${cluster.proofUrl}/v1/consistency?from=${before.size}&to=${signed.size}`);
  assert.equal(c.status, 200, c.text);
  verifyConsistency(before.size, signed.size, (c.body['proof'] as string[]).map(fromB64), before.root, signed.root);
  // Epochs stay gapless across the restart.
  const mid = verifyState(c.body['from'] as StateJson, signed.size, signed.root, ORIGIN);
  assert.equal(mid.epoch, before.size);
});

test('a shard that is down holds epochs back (never half-written); they complete when it returns', async () => {
  const before = await checkpoint();
  await cluster.shardProcs[1]?.stop();
  try {
    // Shard 0 still commits; no epoch can include it while shard 1 cannot report its head.
    await write({ id: 'down-1', records: [{ key: `{${A}}:down:1`, value: 1 }] });
    await new Promise((r) => setTimeout(r, 400));
    const during = await checkpoint();
    assert.equal(during.size, before.size, 'no epoch sealed while a shard is down');
    // Not in any signed state (404), or shard 1 cannot be asked about its part (503 unavailable).
    const missing = await http(`${cluster.proofUrl}/v1/transactions/down-1`);
    assert.ok(missing.status === 404 || (missing.status === 503 && missing.headers.get('retry-after') !== null), missing.text);
    // Reads that need only shard 0 still answer, at the last signed state.
    const old = await http(`${cluster.proofUrl}/v1/keys/${enc(`{${A}}:r:1`)}`);
    assert.equal(old.status, 200, old.text);
    // The operator sees why: abandoned epochs, and head requests to shard 1 failing.
    const metrics = parseExposition((await http(`${cluster.proofUrl}/metrics`)).text);
    const epochs = metrics.get('cairn_proof_epochs_total')?.samples ?? [];
    assert.ok((epochs.find((x) => x.labels['outcome'] === 'abandoned')?.value ?? 0) >= 1, JSON.stringify(epochs));
    const failedHeads = (metrics.get('cairn_proof_shard_requests_total')?.samples ?? []).filter((x) => x.labels['op'] === 'headAt' && x.labels['result'] !== 'ok');
    assert.ok(failedHeads.reduce((n, x) => n + x.value, 0) >= 1, JSON.stringify(failedHeads));
    assert.ok((metrics.get('cairn_proof_epoch_failures_consecutive')?.samples[0]?.value ?? 0) >= 1);
  } finally {
    await cluster.shardProcs[1]?.start();
  }
  const body = await getProven('/v1/transactions/down-1');
  const { signed, state } = verifyEnvelope(body);
  assert.ok(signed.size > before.size);
  for (const r of body['records'] as RecordJson[]) verifyRecord(r, state, SHARDS);
});

test('a nats-server restart: epochs resume and new writes are proven', async () => {
  const before = await checkpoint();
  await cluster.nats.restart();
  const receipt = await until('a write after the broker restart', WAIT_MS, async () => {
    const a = await http(`${cluster.ingestUrl}/v1/transactions`, { body: { id: 'nats-1', records: [{ key: `{${A}}:n:1`, value: 1 }, { key: `{${B}}:n:1`, value: 1 }] } });
    return a.status === 200 ? a.body : undefined;
  });
  assert.equal(receipt['id'], 'nats-1');
  const body = await getProven('/v1/transactions/nats-1');
  const { signed, state } = verifyEnvelope(body);
  for (const r of body['records'] as RecordJson[]) verifyRecord(r, state, SHARDS);
  const c = await http(`${cluster.proofUrl}/v1/consistency?from=${before.size}&to=${signed.size}`);
  assert.equal(c.status, 200, c.text);
  verifyConsistency(before.size, signed.size, (c.body['proof'] as string[]).map(fromB64), before.root, signed.root);
});

test('the SDK (@cairn/client) verifies writes and reads against this service', async () => {
  const client = new CairnClient({ proofUrl: cluster.proofUrl, ingestUrl: cluster.ingestUrl, verifierKey: keys.verifierKey, origin: ORIGIN });
  const key = `{${A}}:sdk/1`;
  const w1 = await client.write({ id: 'sdk-1', records: [{ key, value: { n: 1 } }, { key: `{${B}}:sdk/1`, value: { n: 1 } }] });
  assert.equal(w1.proof.records.length, 2);
  const e1 = w1.proof.epoch;
  await client.write({ id: 'sdk-2', records: [{ key, value: { n: 2 } }] });
  const latest = await client.get(key);
  assert.deepEqual(latest.record.json, { n: 2 });
  const past = await client.getAt(key, e1);
  assert.deepEqual(past.record.json, { n: 1 });
  assert.deepEqual((await client.history(key)).records.map((r) => r.json), [{ n: 1 }, { n: 2 }]);
  assert.equal((await client.getTransaction('sdk-1')).records.length, 2);
});

function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runNode(cliMain, args, { env, ms_max: CLI_MS_MAX });
}

test('cairn audit follows the checkpoints; after the proof data is restored from an old copy it reports the rollback or fork', async () => {
  const work = tempDir('proof-audit');
  try {
    const stateFile = join(work.path, 'audit.json');
    const audit = (): Promise<{ code: number | null; out: string }> =>
      runCli(['audit', '--proof-url', cluster.proofUrl, '--origin', ORIGIN, '--verifier-key', keys.verifierKey, '--state-file', stateFile, '--iterations', '2', '--interval-ms', '100']);
    const first = await audit();
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /audit OK/);

    // An old copy of the state log, taken while the service is stopped (RocksDB is not copied live).
    await cluster.proof.stop();
    const copy = join(work.path, 'old-state');
    cpSync(cluster.proofDir, copy, { recursive: true });
    await cluster.startProof();
    await write({ id: 'audit-1', records: [{ key: `{${A}}:au:1`, value: 1 }, { key: `{${B}}:au:1`, value: 1 }] });
    await getProven('/v1/transactions/audit-1');
    const ahead = await audit();
    assert.equal(ahead.code, 0, ahead.out);
    const trusted = (await checkpoint()).size;

    // Restore the old copy: the service resumes from the older head and seals a different future.
    await cluster.proof.stop();
    rmSync(cluster.proofDir, { recursive: true, force: true });
    cpSync(copy, cluster.proofDir, { recursive: true });
    await cluster.startProof();
    await write({ id: 'audit-2', records: [{ key: `{${A}}:au:2`, value: 2 }] });
    await getProven('/v1/transactions/audit-2');
    assert.notEqual((await checkpoint()).size, 0);
    const caught = await audit();
    assert.equal(caught.code, 1, caught.out);
    assert.match(caught.out, /audit FAILED \[(rollback|fork|consistency_failed)\]/);
    assert.ok(caught.out.includes(String(trusted)), `the message names the trusted checkpoint ${trusted}: ${caught.out}`);
  } finally {
    work.remove();
  }
});
