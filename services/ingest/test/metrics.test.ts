// GET /metrics through the real HTTP API, with a real nats-server and the stand-in shards: every
// figure checked here was moved by a request this test made, measured as the difference of two
// scrapes read by the strict exposition parser.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNatsServer, type NatsServer } from '@cairn/testkit';
import { prometheusContentType } from '@cairn/telemetry';
import { parseExposition, sampleValue, type Family } from '@cairn/telemetry/exposition-parser';
import { loadConfig, startIngest, type IngestConfig, type IngestService } from '../src/index.js';
import { startMiniShard, type MiniShard } from './mini-shard.js';

let nats: NatsServer;
let rigs = 0;

before(async () => {
  nats = await startNatsServer();
});

after(async () => {
  await nats.stop();
});

async function rig(overrides: Partial<IngestConfig>, withShards: boolean): Promise<{ ingest: IngestService; close: () => Promise<void> }> {
  rigs += 1;
  const config = loadConfig({}, [], { nats_url: nats.url, port: 0, shards: 2, stream: `M${rigs}`, subject_prefix: `m${rigs}`, batch_age_ms_max: 1, ...overrides });
  const ingest = await startIngest(config);
  const shards: MiniShard[] = [];
  if (withShards) for (let s = 0; s < config.shards; s++) shards.push(await startMiniShard(ingest.transport, s));
  return {
    ingest,
    close: async () => {
      for (const s of shards) await s.stop();
      await ingest.stop();
    },
  };
}

async function scrape(url: string): Promise<Map<string, Family>> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), prometheusContentType);
  return parseExposition(await res.text());
}

/** A sample's value, 0 when the series does not exist yet (a labelled series appears on first use). */
function value(f: Map<string, Family>, family: string, name: string, labels: Record<string, string> = {}): number {
  try {
    return sampleValue(f, family, name, labels);
  } catch {
    return 0;
  }
}

function post(url: string, path: string, body: string): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
}

test('metrics: requests by route template and code, body bytes, flushes, publishes and commit waits move with the requests made', { timeout: 30_000 }, async () => {
  const { ingest, close } = await rig({}, true);
  try {
    const url = ingest.url;
    const before = await scrape(url);
    const bodies = [0, 1, 2].map((i) => JSON.stringify({ records: [{ key: `m:${i}`, value: { n: i } }] }));
    for (const b of bodies) assert.equal((await post(url, '/v1/transactions', b)).status, 200);
    const malformed = '{"records": [';
    assert.equal((await post(url, '/v1/transactions', malformed)).status, 400);
    const batch = JSON.stringify({ transactions: [{ records: [{ key: 'b:1', value: 1 }] }, { records: [{ key: 'b:2', value: 2 }] }] });
    assert.equal((await post(url, '/v1/transactions/batch', batch)).status, 200);
    assert.equal((await fetch(`${url}/no/such/path/42`)).status, 404);
    const f = await scrape(url);

    const delta = (family: string, name: string, labels: Record<string, string> = {}): number => value(f, family, name, labels) - value(before, family, name, labels);
    const requests = 'cairn_ingest_http_requests_total';
    assert.equal(delta(requests, requests, { route: '/v1/transactions', method: 'POST', code: '200' }), 3);
    assert.equal(delta(requests, requests, { route: '/v1/transactions', method: 'POST', code: '400' }), 1);
    assert.equal(delta(requests, requests, { route: '/v1/transactions/batch', method: 'POST', code: '200' }), 1);
    assert.equal(delta(requests, requests, { route: 'other', method: 'GET', code: '404' }), 1);
    // The scrape before this one was itself counted once it had been answered.
    assert.ok(delta(requests, requests, { route: '/metrics', method: 'GET', code: '200' }) >= 1);
    // Unknown paths are one label value: the raw path never becomes a series.
    assert.ok(![...f.values()].some((fam) => fam.samples.some((s) => Object.values(s.labels).some((v) => v.includes('no/such')))));
    const errors = 'cairn_ingest_http_errors_total';
    assert.equal(delta(errors, errors, { route: '/v1/transactions', error: 'malformed_json' }), 1);
    assert.equal(delta(errors, errors, { route: 'other', error: 'not_found' }), 1);

    const duration = 'cairn_ingest_http_request_duration_seconds';
    assert.equal(delta(duration, `${duration}_count`, { route: '/v1/transactions' }), 4);
    assert.ok(delta(duration, `${duration}_sum`, { route: '/v1/transactions' }) > 0);
    const body = 'cairn_ingest_http_request_body_bytes';
    assert.equal(delta(body, `${body}_count`, { route: '/v1/transactions' }), 4);
    assert.equal(delta(body, `${body}_sum`, { route: '/v1/transactions' }), [...bodies, malformed].reduce((n, b) => n + Buffer.byteLength(b), 0));
    assert.equal(delta(body, `${body}_sum`, { route: '/v1/transactions/batch' }), Buffer.byteLength(batch));

    const tx = 'cairn_ingest_transactions_total';
    assert.equal(delta(tx, tx, { outcome: 'committed' }), 5);
    assert.equal(delta('cairn_ingest_commit_wait_seconds', 'cairn_ingest_commit_wait_seconds_count'), 5);
    assert.equal(delta('cairn_ingest_flush_transactions', 'cairn_ingest_flush_transactions_sum'), 5);
    assert.ok(delta('cairn_ingest_flush_bytes', 'cairn_ingest_flush_bytes_sum') > 0);
    const flushes = delta('cairn_ingest_flush_transactions', 'cairn_ingest_flush_transactions_count');
    assert.ok(flushes >= 2 && flushes <= 5, String(flushes));
    const publish = 'cairn_ingest_publish_duration_seconds';
    assert.equal(delta(publish, `${publish}_count`, { result: 'stored' }), flushes);
    assert.equal(value(f, 'cairn_ingest_queue_transactions', 'cairn_ingest_queue_transactions'), 0);
    assert.equal(value(f, 'cairn_ingest_waiters', 'cairn_ingest_waiters'), 0);
    assert.ok(value(f, 'process_resident_memory_bytes', 'process_resident_memory_bytes') > 0);
    assert.equal(f.get('cairn_telemetry_series_dropped_total')?.samples.length, 0);
  } finally {
    await close();
  }
});

test('metrics: 503 answers with Retry-After are counted by reason, timeouts by outcome, the queue as it stands', { timeout: 30_000 }, async () => {
  // No shard answers: admitted transactions wait until commit_wait_ms_max.
  const { ingest, close } = await rig({ waiters_max: 1, pending_txs_max: 1, request_txs_max: 1, commit_wait_ms_max: 1_000 }, false);
  try {
    const url = ingest.url;
    const hanging = post(url, '/v1/transactions', JSON.stringify({ records: [{ key: 'a', value: 1 }] }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const during = await scrape(url);
    assert.equal(value(during, 'cairn_ingest_waiters', 'cairn_ingest_waiters'), 1);
    const full = await post(url, '/v1/transactions', JSON.stringify({ records: [{ key: 'b', value: 1 }] }));
    assert.equal(full.status, 503);
    assert.equal((await hanging).status, 504);
    const f = await scrape(url);
    assert.equal(value(f, 'cairn_ingest_http_retry_after_total', 'cairn_ingest_http_retry_after_total', { reason: 'backpressure' }), 1);
    const requests = 'cairn_ingest_http_requests_total';
    assert.equal(value(f, requests, requests, { route: '/v1/transactions', method: 'POST', code: '503' }), 1);
    assert.equal(value(f, requests, requests, { route: '/v1/transactions', method: 'POST', code: '504' }), 1);
    assert.equal(value(f, 'cairn_ingest_transactions_total', 'cairn_ingest_transactions_total', { outcome: 'timeout' }), 1);
    // A timeout is not a commit: no commit wait was observed.
    assert.equal(value(f, 'cairn_ingest_commit_wait_seconds', 'cairn_ingest_commit_wait_seconds_count'), 0);
    assert.equal(value(f, 'cairn_ingest_waiters', 'cairn_ingest_waiters'), 0);
  } finally {
    await close();
  }
});
