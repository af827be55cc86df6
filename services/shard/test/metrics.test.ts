// The shard's metrics listener, end to end: a real nats-server, a real shard process with
// metrics_listen on 127.0.0.1, the ingest gateway, transactions sent through HTTP as a client sends
// them. Every figure is read over HTTP from /metrics and held to what was sent: the exact number of
// transactions by outcome, records, messages, reads by op and outcome.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { openStore, type OpenStoreOptions, type Store } from '@cairn/storage';
import { assertConnectionsBoundOfTwo, tempDir } from '@cairn/testkit';
import { loadConfig, startShard, type ShardReadClient } from '../src/index.js';
import { Cluster, shardErrorCode, post, until, type Receipt } from './cluster.js';
import { parseExposition, seriesKey, sumOf, valueOf, type Exposition } from './exposition.js';

const SCRAPE_MS_MAX = 5_000;
const APPLIED_WAIT_MS_MAX = 10_000;
const METRICS_URL = /metrics on (http:\/\/127\.0\.0\.1:[0-9]+)/;

let cluster: Cluster;
let metricsUrl = '';

before(async () => {
  cluster = await Cluster.start({
    shards: 1,
    name: 'metrics',
    shardEnv: { CAIRN_SHARD_METRICS_LISTEN: '127.0.0.1:0', CAIRN_SHARD_METRICS_CONNECTIONS_MAX: '2' },
  });
  const found = METRICS_URL.exec(cluster.shardProcs[0]?.output ?? '');
  assert.ok(found !== null, `the shard printed no metrics address:\n${cluster.logs()}`);
  metricsUrl = found[1] as string;
});

after(async () => {
  await cluster?.stop();
});

function reader(): ShardReadClient {
  return cluster.readers[0] as ShardReadClient;
}

async function get(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${metricsUrl}${path}`, { ...init, signal: AbortSignal.timeout(SCRAPE_MS_MAX) });
}

async function scrape(): Promise<Exposition> {
  const res = await get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

async function commit(tx: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  return post(`${cluster.ingestUrl}/v1/transactions`, tx);
}


/** What moved between two scrapes. A labelled series appears on its first count: absent before reads as 0. */
function delta(before: Exposition, after: Exposition, name: string, labels: Record<string, string> = {}): number {
  const from = before.samples.get(seriesKey(name, labels)) ?? (Object.keys(labels).length > 0 ? 0 : undefined);
  if (from === undefined) throw new Error(`no series ${name} in the first scrape`);
  return valueOf(after, name, labels) - from;
}

// First: fetch() keeps its connections open afterwards, and they count against the bound of two.
test('open connections are bounded by metrics_connections_max', async () => {
  await assertConnectionsBoundOfTwo(Number(new URL(metricsUrl).port));
});

test('counters move by exactly the transactions, records and messages sent', async () => {
  const before = await scrape();
  const first = { id: 'm-1', records: [{ key: '{m}:order:1', value: { total: 1 } }, { key: '{m}:pay:1', value: true }] };
  assert.equal((await commit(first)).status, 200);
  const second = await commit({ id: 'm-2', records: [{ key: '{m}:order:2', value: 2, expect: { absent: true } }, { key: '{m}:x', value: 1 }, { key: '{m}:y', value: 1 }] });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  // The same id and content again: the shard answers duplicate (a replayed receipt).
  const retry = await commit(first);
  assert.equal(retry.status, 200, JSON.stringify(retry.body));
  assert.equal((retry.body as unknown as Receipt).replayed, true);
  // Version 1 exists, not 5: the shard decides precondition_failed.
  const failed = await commit({ id: 'm-3', records: [{ key: '{m}:order:1', value: 9, expect: { version: 5 } }] });
  assert.equal(failed.status, 409, JSON.stringify(failed.body));
  assert.equal((failed.body['error'] as { code: string }).code, 'precondition_failed');
  // Bytes the shard cannot decode: applied empty, counted as a rejected message.
  const garbage = await cluster.transport.publish({ subject: 'ledger.shard.0', data: Uint8Array.of(1, 1, 0, 0, 0, 0, 0, 0, 0, 9), msgId: 'metrics-garbage' });
  let after = before;
  await until('the garbage message applied', APPLIED_WAIT_MS_MAX, async () => {
    after = await scrape();
    return valueOf(after, 'cairn_shard_applied_seq') >= garbage.seq;
  });

  const tx = 'cairn_shard_transactions_total';
  assert.equal(delta(before, after, tx, { status: 'committed' }), 2);
  assert.equal(delta(before, after, tx, { status: 'duplicate' }), 1);
  assert.equal(delta(before, after, tx, { status: 'precondition_failed' }), 1);
  assert.equal(delta(before, after, tx, { status: 'id_conflict' }), 0);
  assert.equal(delta(before, after, 'cairn_shard_records_total'), 5, 'records committed: 2 + 3');
  assert.equal(delta(before, after, 'cairn_shard_messages_total', { kind: 'rejected' }), 1);
  assert.equal(delta(before, after, 'cairn_shard_messages_total', { kind: 'marker' }), 0);
  // One shard: every message of the stream is on its subject, each applied once.
  const messages = sumOf(after, 'cairn_shard_messages_total') - sumOf(before, 'cairn_shard_messages_total');
  assert.equal(messages, delta(before, after, 'cairn_shard_applied_seq'));
  // Each transaction came in its own message (the requests were sequential).
  assert.equal(delta(before, after, 'cairn_shard_messages_total', { kind: 'txs' }), 4);

  const appends = delta(before, after, 'cairn_shard_appends_total');
  assert.ok(appends >= 1 && appends <= messages, `appends ${appends} for ${messages} messages`);
  assert.equal(delta(before, after, 'cairn_shard_append_duration_seconds_count'), appends, 'one duration per append');
  assert.ok(delta(before, after, 'cairn_shard_append_phase_seconds_total', { phase: 'write' }) > 0, 'the synced writes took time');

  const head = await reader().head();
  const settled = await scrape();
  assert.equal(valueOf(settled, 'cairn_shard_applied_seq'), head.seq);
  assert.equal(valueOf(settled, 'cairn_shard_tree_size'), head.size);
  assert.equal(valueOf(settled, 'cairn_shard_appends_inflight'), 0);
  assert.equal(valueOf(settled, 'cairn_shard_consumer_pending_messages'), 0, 'nothing left to deliver');
  assert.equal(valueOf(settled, 'cairn_shard_info', { shard: '0', shards: '1' }), 1);
  assert.equal(settled.types.get('cairn_shard_transactions_total'), 'counter');
  assert.equal(settled.types.get('cairn_shard_append_duration_seconds'), 'histogram');
});

test('reads are counted by op and outcome, with their latency', async () => {
  const before = await scrape();
  for (let i = 0; i < 3; i += 1) await reader().head();
  assert.equal(await shardErrorCode(reader().call({ op: 'drop-table' })), 'SHARD_BAD_REQUEST');
  assert.equal(await shardErrorCode(reader().latest('{m}:never')), 'SHARD_NOT_FOUND');
  const after = await scrape();
  const reads = 'cairn_shard_reads_total';
  assert.equal(delta(before, after, reads, { op: 'head', outcome: 'ok' }), 3);
  assert.equal(delta(before, after, reads, { op: 'invalid', outcome: 'SHARD_BAD_REQUEST' }), 1);
  assert.equal(delta(before, after, reads, { op: 'latest', outcome: 'SHARD_NOT_FOUND' }), 1);
  assert.equal(delta(before, after, 'cairn_shard_read_duration_seconds_count', { op: 'head' }), 3);
  assert.equal(valueOf(after, 'cairn_shard_read_refusals_total'), 0);
});

test('the listener serves /metrics and /healthz only, in the JSON error shape otherwise', async () => {
  const health = await get('/healthz');
  assert.equal(health.status, 200);
  const body = (await health.json()) as { ok: boolean; shard: number; applied_seq: number };
  assert.equal(body.ok, true);
  assert.equal(body.shard, 0);
  assert.equal(body.applied_seq, (await reader().head()).seq);
  const missing = await get('/v1/transactions');
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
  const posted = await get('/metrics', { method: 'POST', body: 'x' });
  assert.equal(posted.status, 405);
  assert.equal(posted.headers.get('allow'), 'GET, HEAD');
  assert.equal(((await posted.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
});

/** Whether something accepts connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Settings of an in-process shard 0 of 1 on a new temporary directory, consuming as `durable`. */
function inProcess(durable: string): { shard: number; shards: number; nats_url: string; data_dir: string; durable: string } {
  const dir = tempDir(durable);
  cluster.dirs.push(dir);
  return { shard: 0, shards: 1, nats_url: cluster.nats.url, data_dir: dir.path, durable };
}

test('stopping a shard closes its listener; a taken port stops the start', async () => {
  const taken = Number(new URL(metricsUrl).port);
  const base = inProcess('metrics-inproc');
  await assert.rejects(startShard(loadConfig({}, [], { ...base, metrics_listen: `127.0.0.1:${taken}` })), /EADDRINUSE/);
  const worker = await startShard(loadConfig({}, [], { ...base, metrics_listen: '127.0.0.1:0' }));
  const url = worker.metricsHttp?.url ?? '';
  const port = Number(new URL(url).port);
  try {
    assert.equal((await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(SCRAPE_MS_MAX) })).status, 200);
  } finally {
    await worker.stop();
  }
  assert.equal(await accepts(port), false, 'the listener outlived the shard');
  const off = await startShard(loadConfig({}, [], { ...base, durable: 'metrics-off' }));
  await off.stop();
  assert.equal(off.metricsHttp, undefined, 'no listener unless metrics_listen names one');
});

test('lag: what the server has not seen acknowledged is pending, and it is exactly what gets applied', async () => {
  // A new durable replays the whole stream into an empty store whose appends wait at a gate from
  // the start. One append in flight: a handler call returns only once its appends are in, so
  // nothing is acknowledged behind the gate.
  const config = loadConfig({}, [], { ...inProcess('metrics-lag'), appends_inflight_max: 1, metrics_listen: '127.0.0.1:0' });
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const gated = async (options: OpenStoreOptions): Promise<Store> => {
    const store = await openStore(options);
    const append = store.append.bind(store);
    store.append = async (batch) => {
      await gate;
      return append(batch);
    };
    return store;
  };
  const worker = await startShard(config, () => undefined, gated);
  try {
    const url = `${worker.metricsHttp?.url ?? ''}/metrics`;
    const scrapeAt = async (): Promise<Exposition> => parseExposition(await (await fetch(url, { signal: AbortSignal.timeout(SCRAPE_MS_MAX) })).text());
    const held = await scrapeAt();
    const lag = valueOf(held, 'cairn_shard_consumer_pending_messages') + valueOf(held, 'cairn_shard_consumer_ack_pending_messages');
    assert.ok(lag >= 5, `the earlier tests' messages are all unapplied: lag ${lag}`);
    assert.equal(sumOf(held, 'cairn_shard_messages_total'), 0, 'nothing applied behind the gate');
    open();
    let drained = held;
    await until('the lag drained', APPLIED_WAIT_MS_MAX, async () => {
      drained = await scrapeAt();
      return valueOf(drained, 'cairn_shard_consumer_pending_messages') + valueOf(drained, 'cairn_shard_consumer_ack_pending_messages') === 0;
    });
    assert.equal(sumOf(drained, 'cairn_shard_messages_total'), lag, 'every message that was pending got applied, no more');
  } finally {
    open();
    await worker.stop();
  }
});

test('/healthz turns 503 once the apply loop stopped on its own (a failed append), while the listener still answers', async () => {
  const config = loadConfig({}, [], { ...inProcess('metrics-health'), metrics_listen: '127.0.0.1:0' });
  const failing = async (options: OpenStoreOptions): Promise<Store> => {
    const store = await openStore(options);
    store.append = async () => Promise.reject(new Error('injected append failure'));
    return store;
  };
  // Its own message, so the test holds alone: this durable replays the stream, and its first append fails.
  assert.equal((await commit({ id: 'm-health', records: [{ key: '{m}:health', value: 1 }] })).status, 200);
  const worker = await startShard(config, () => undefined, failing);
  try {
    await assert.rejects(worker.done);
    const health = await fetch(`${worker.metricsHttp?.url ?? ''}/healthz`, { signal: AbortSignal.timeout(SCRAPE_MS_MAX) });
    assert.equal(health.status, 503);
    assert.equal(((await health.json()) as { ok: boolean }).ok, false);
  } finally {
    await worker.stop();
  }
});
