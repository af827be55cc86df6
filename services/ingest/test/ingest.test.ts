// The ingest against a real nats-server, over real HTTP. The shard side is played by mini-shard.ts
// (the real services/shard has its own end-to-end tests).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNatsServer, type NatsServer } from '@cairn/testkit';
import { shardSubject } from '@cairn/transport';
import { jetstreamManager } from '@nats-io/jetstream';
import { errorCodes, shardOfTag, type Receipt } from '@cairn/wire';
import { loadConfig, startIngest, type IngestConfig, type IngestService } from '../src/index.js';
import { startMiniShard, type MiniShard } from './mini-shard.js';

let nats: NatsServer;
let rigCount = 0;

interface Rig {
  ingest: IngestService;
  shards: MiniShard[];
  post(path: string, body: unknown, raw?: boolean): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }>;
  close(): Promise<void>;
}

async function rig(overrides: Partial<IngestConfig> = {}, withShards = true): Promise<Rig> {
  rigCount += 1;
  const config = loadConfig({}, [], {
    nats_url: nats.url,
    port: 0,
    shards: 2,
    stream: `T${rigCount}`,
    subject_prefix: `t${rigCount}`,
    batch_age_ms_max: 1,
    commit_wait_ms_max: 5_000,
    ...overrides,
  });
  const ingest = await startIngest(config);
  const shards: MiniShard[] = [];
  if (withShards) for (let s = 0; s < config.shards; s++) shards.push(await startMiniShard(ingest.transport, s));
  return {
    ingest,
    shards,
    async post(path, body, raw = false) {
      const res = await fetch(`${ingest.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: raw ? (body as string) : JSON.stringify(body),
      });
      return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
    },
    async close() {
      for (const s of shards) await s.stop();
      await ingest.stop();
    },
  };
}

// Tags that land on shard 0 and shard 1 of a 2-shard cluster.
function tagOn(shard: number, shards = 2): string {
  for (let i = 0; i < 1000; i++) if (shardOfTag(`t${i}`, shards) === shard) return `t${i}`;
  throw new Error('no tag found');
}

function errorCode(json: Record<string, unknown>): string {
  return (json['error'] as { code: string }).code;
}

before(async () => {
  nats = await startNatsServer();
});

after(async () => {
  await nats.stop();
});

describe('ingest over real NATS', { timeout: 60_000 }, () => {
  let r: Rig;
  before(async () => {
    r = await rig({ tx_records_max: 5, key_bytes_max: 16, value_bytes_max: 600, tx_bytes_max: 1000, meta_bytes_max: 32, request_txs_max: 3, body_bytes_max: 4096, id_bytes_max: 16 });
  });
  after(async () => r.close());

  test('a single-shard transaction gets a receipt with version, shard, leaf index and root', async () => {
    const tag = tagOn(1);
    const res = await r.post('/v1/transactions', { id: 'one', records: [{ key: `{${tag}}:order:1`, value: { total: 10 } }], meta: { by: 'test' } });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const receipt = res.json as unknown as Receipt;
    assert.equal(receipt.id, 'one');
    assert.equal(receipt.status, 'committed');
    assert.deepEqual(receipt.records.map((x) => [x.key, x.version, x.shard]), [[`{${tag}}:order:1`, 1, 1]]);
    assert.equal(receipt.shards.length, 1);
    assert.equal(receipt.shards[0]?.shard, 1);
    assert.match(receipt.shards[0]?.root ?? '', /^[A-Za-z0-9+/]{43}=$/); // base64 of 32 bytes
    assert.equal(receipt.shards[0]?.size, (receipt.records[0]?.leafIndex ?? -1) + 1);
    const second = await r.post('/v1/transactions', { records: [{ key: `{${tag}}:order:1`, value: { total: 11 } }] });
    assert.equal((second.json as unknown as Receipt).records[0]?.version, 2);
    assert.match((second.json as unknown as Receipt).id, /^~\d+\.\d+\.[0-9a-f]{16}$/);
  });

  test('a cross-shard transaction is split into one part per shard, published as one atomic batch', async () => {
    const a = tagOn(0);
    const b = tagOn(1);
    const res = await r.post('/v1/transactions', {
      id: 'cross-1',
      records: [{ key: `{${a}}:x`, value: 1 }, { key: `{${b}}:y`, value: 2 }, { key: `{${a}}:z`, value: 3 }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const receipt = res.json as unknown as Receipt;
    assert.deepEqual(receipt.records.map((x) => [x.key, x.shard]), [[`{${a}}:x`, 0], [`{${b}}:y`, 1], [`{${a}}:z`, 0]]);
    assert.deepEqual(receipt.shards.map((s) => s.shard), [0, 1]);
    const parts = r.shards.map((s) => {
      const got = s.received.find((m) => m.message.txs.some((t) => t.id === 'cross-1'));
      assert.ok(got, `shard ${s.shard} got no part`);
      return { seq: got.seq, msgId: got.msgId, part: got.message.txs.find((t) => t.id === 'cross-1') };
    });
    assert.deepEqual(parts.map((p) => p.part?.records.map((x) => x.key)), [[`{${a}}:x`, `{${a}}:z`], [`{${b}}:y`]]);
    assert.deepEqual(parts.map((p) => p.part?.shards), [[0, 1], [0, 1]]);
    assert.deepEqual(parts[0]?.part?.contentHash, parts[1]?.part?.contentHash);
    assert.equal((parts[1]?.seq ?? 0) - (parts[0]?.seq ?? 0), 1, 'an atomic batch takes contiguous sequences');
    assert.match(parts[0]?.msgId ?? '', /^[0-9a-f]{32}\.0$/);
    assert.match(parts[1]?.msgId ?? '', /^[0-9a-f]{32}\.1$/);
  });

  test('a retry with the same id and content returns the original receipt; different content is 409', async () => {
    const tx = { id: 'retry-1', records: [{ key: 'retry:k', value: { n: 1 } }] };
    const first = await r.post('/v1/transactions', tx);
    assert.equal(first.status, 200);
    const again = await r.post('/v1/transactions', tx);
    assert.equal(again.status, 200);
    assert.deepEqual((again.json as unknown as Receipt).records, (first.json as unknown as Receipt).records);
    assert.equal(again.json['replayed'], true);
    const other = await r.post('/v1/transactions', { ...tx, records: [{ key: 'retry:k', value: { n: 2 } }] });
    assert.equal(other.status, 409);
    assert.equal(errorCode(other.json), 'id_conflict');
  });

  test('an id reused with other content on more shards is refused before any shard sees it', async () => {
    const a = tagOn(0);
    const b = tagOn(1);
    const jsm = await jetstreamManager(r.ingest.transport.nc);
    const stream = r.ingest.transport.layout.stream;
    const onB = shardSubject(r.ingest.transport.layout, 1);
    const subjectCount = async (subject: string): Promise<number> =>
      (await jsm.streams.info(stream, { subjects_filter: subject })).state.subjects?.[subject] ?? 0;
    const original = { id: 'reuse-1', records: [{ key: `{${a}}:k`, value: 1 }] };
    const first = await r.post('/v1/transactions', original);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    const lastSeq = (await jsm.streams.info(stream)).state.last_seq;
    const onBBefore = await subjectCount(onB);
    const reused = await r.post('/v1/transactions', { id: 'reuse-1', records: [{ key: `{${a}}:k`, value: 2 }, { key: `{${b}}:k`, value: 2 }] });
    assert.equal(reused.status, 409, JSON.stringify(reused.json));
    assert.equal(errorCode(reused.json), 'id_conflict');
    assert.equal((await jsm.streams.info(stream)).state.last_seq, lastSeq, 'nothing was published to any shard');
    assert.equal(await subjectCount(onB), onBBefore);
    assert.ok(!r.shards[1]?.received.some((m) => m.message.txs.some((t) => t.id === 'reuse-1')), 'shard B never saw the id');
    // The same id with its original content is a retry: the original receipt.
    const retry = await r.post('/v1/transactions', original);
    assert.equal(retry.status, 200, JSON.stringify(retry.json));
    assert.equal(retry.json['replayed'], true);
    assert.deepEqual((retry.json as unknown as Receipt).records, (first.json as unknown as Receipt).records);
  });

  test('preconditions: absent, version, and a failed one is 409 precondition_failed', async () => {
    const ok = await r.post('/v1/transactions', { records: [{ key: 'pre:k', value: 1, expect: { absent: true } }] });
    assert.equal(ok.status, 200);
    const v2 = await r.post('/v1/transactions', { records: [{ key: 'pre:k', value: 2, expect: { version: 1 } }] });
    assert.equal(v2.status, 200);
    const stale = await r.post('/v1/transactions', { records: [{ key: 'pre:k', value: 3, expect: { version: 1 } }] });
    assert.equal(stale.status, 409);
    assert.equal(errorCode(stale.json), 'precondition_failed');
  });

  test('a batch answers per transaction, in order', async () => {
    const res = await r.post('/v1/transactions/batch', {
      transactions: [{ records: [{ key: 'b:1', value: 1 }] }, { records: [] }, { id: 'b-3', records: [{ key: 'b:3', value: 3 }] }],
    });
    assert.equal(res.status, 200);
    const results = res.json['results'] as { status: number; receipt?: Receipt; error?: { code: string; path: string } }[];
    assert.deepEqual(results.map((x) => x.status), [200, 400, 200]);
    assert.equal(results[1]?.error?.code, 'empty_records');
    assert.equal(results[1]?.error?.path, 'transactions[1].records');
    assert.equal(results[2]?.receipt?.id, 'b-3');
  });

  test('wait=accepted answers with the stream sequence per shard', async () => {
    const res = await r.post('/v1/transactions?wait=accepted', { id: 'acc-1', records: [{ key: `{${tagOn(0)}}:a`, value: 1 }, { key: `{${tagOn(1)}}:a`, value: 1 }] });
    assert.equal(res.status, 200);
    assert.equal(res.json['status'], 'accepted');
    const shards = res.json['shards'] as { shard: number; seq: number }[];
    assert.deepEqual(shards.map((s) => s.shard), [0, 1]);
    assert.equal((shards[1]?.seq ?? 0) - (shards[0]?.seq ?? 0), 1);
  });

  const cases: [string, string, unknown, boolean?][] = [
    ['malformed_json', '/v1/transactions', '{"records": [', true],
    ['malformed_json', '/v1/transactions', '\xff', true],
    ['body_too_large', '/v1/transactions', { records: [{ key: 'k', value: 'x'.repeat(5000) }] }],
    ['wrong_type', '/v1/transactions', [1]],
    ['wrong_type', '/v1/transactions', { records: [{ key: 'k', value: 1, extra: 1 }] }],
    ['json_too_deep', '/v1/transactions', { records: [{ key: 'k', value: JSON.parse('['.repeat(40) + ']'.repeat(40)) }] }],
    ['bad_unicode', '/v1/transactions', '{"records":[{"key":"k","value":"\\ud800"}]}', true],
    ['bad_query', '/v1/transactions?wait=soon', { records: [{ key: 'k', value: 1 }] }],
    ['not_found', '/v2/nothing', {}],
    ['invalid_id', '/v1/transactions', { id: 'has space', records: [{ key: 'k', value: 1 }] }],
    ['empty_records', '/v1/transactions', { records: [] }],
    ['too_many_records', '/v1/transactions', { records: [1, 2, 3, 4, 5, 6].map((i) => ({ key: `k${i}`, value: i })) }],
    ['invalid_key', '/v1/transactions', { records: [{ key: '', value: 1 }] }],
    ['key_too_large', '/v1/transactions', { records: [{ key: 'k'.repeat(17), value: 1 }] }],
    ['bad_hash_tag', '/v1/transactions', { records: [{ key: '{}x', value: 1 }] }],
    ['duplicate_key', '/v1/transactions', { records: [{ key: 'k', value: 1 }, { key: 'k', value: 2 }] }],
    ['value_too_large', '/v1/transactions', { records: [{ key: 'k', value: 'v'.repeat(700) }] }],
    ['meta_too_large', '/v1/transactions', { records: [{ key: 'k', value: 1 }], meta: { note: 'm'.repeat(40) } }],
    ['tx_too_large', '/v1/transactions', { records: [{ key: 'k1', value: 'v'.repeat(550) }, { key: 'k2', value: 'v'.repeat(550) }] }],
    ['bad_expect', '/v1/transactions', { records: [{ key: 'k', value: 1, expect: { version: -1 } }] }],
    ['precondition_cross_shard', '/v1/transactions', { records: [{ key: `{${tagOn(0)}}`, value: 1, expect: { absent: true } }, { key: `{${tagOn(1)}}`, value: 1 }] }],
    ['empty_batch', '/v1/transactions/batch', { transactions: [] }],
    ['batch_too_large', '/v1/transactions/batch', { transactions: [1, 2, 3, 4] }],
  ];
  for (const [code, path, body, raw] of cases) {
    test(`${code}: ${path} answers ${code}`, async () => {
      const res = await r.post(path, body, raw ?? false);
      assert.equal(errorCode(res.json), code, JSON.stringify(res.json));
      const table = await import('@cairn/wire');
      assert.equal(res.status, table.errorStatus[code as keyof typeof table.errorStatus]);
    });
  }

  test('under concurrency every transaction gets its own leaves, and versions count the writes per key', async () => {
    const keys = ['{c1}:a', '{c2}:b', '{c3}:c', '{c4}:d'];
    const singles = Array.from({ length: 120 }, (_, i) => r.post('/v1/transactions', { records: [{ key: keys[i % 4], value: i }] }));
    const batches = Array.from({ length: 3 }, (_, b) =>
      r.post('/v1/transactions/batch', { transactions: Array.from({ length: 3 }, (_, i) => ({ records: [{ key: keys[(b + i) % 4], value: -i }, { key: `{c5}:${b}-${i}`, value: 0 }] })) }),
    );
    const receipts: Receipt[] = [];
    for (const res of await Promise.all(singles)) {
      assert.equal(res.status, 200, JSON.stringify(res.json));
      receipts.push(res.json as unknown as Receipt);
    }
    for (const res of await Promise.all(batches)) {
      for (const item of res.json['results'] as { status: number; receipt: Receipt }[]) {
        assert.equal(item.status, 200);
        receipts.push(item.receipt);
      }
    }
    const leaves = new Set<string>();
    const versions = new Map<string, number[]>();
    for (const rc of receipts) {
      for (const rec of rc.records) {
        const leaf = `${rec.shard}/${rec.leafIndex}`;
        assert.ok(!leaves.has(leaf), `leaf ${leaf} given twice`);
        leaves.add(leaf);
        versions.set(rec.key, [...(versions.get(rec.key) ?? []), rec.version]);
      }
    }
    assert.equal(leaves.size, 120 + 3 * 3 * 2);
    for (const key of keys) {
      const v = (versions.get(key) ?? []).sort((a, b) => a - b);
      assert.deepEqual(v, Array.from({ length: v.length }, (_, i) => i + 1), `versions of ${key} are not 1..n`);
    }
    assert.equal([...versions.entries()].filter(([k]) => keys.includes(k)).reduce((n, [, v]) => n + v.length, 0), 120 + 9);
  });

  test('method_not_allowed names the allowed methods; openapi and healthz answer', async () => {
    const res = await fetch(`${r.ingest.url}/v1/transactions`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    assert.equal(errorCode((await res.json()) as Record<string, unknown>), 'method_not_allowed');
    const doc = (await (await fetch(`${r.ingest.url}/openapi.json`)).json()) as { openapi: string; components: { schemas: { Error: { properties: { code: { enum: string[] } } } } } };
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc.components.schemas.Error.properties.code.enum, [...errorCodes]);
    const health = await fetch(`${r.ingest.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
  });
});

describe('shard messages and the broker max_payload', { timeout: 60_000 }, () => {
  // The flush packs each shard message up to message_bytes_max; the broker counts the publish
  // headers (~250 bytes here) against max_payload too. Small transactions fill a message to within
  // a few dozen bytes of the bound, so a bound without room for headers would be refused.
  const messageBytes = 80 * 1024;
  const withBroker = async (maxPayload: number, body: (config: IngestConfig) => Promise<void>): Promise<void> => {
    const server = await startNatsServer({ max_payload_bytes: maxPayload });
    try {
      await body(loadConfig({}, [], { nats_url: server.url, port: 0, shards: 2, batch_age_ms_max: 1_000, batch_txs_max: 10_000, message_bytes_max: messageBytes, tx_bytes_max: 1_024, tx_records_max: 4, value_bytes_max: 64 }));
    } finally {
      await server.stop();
    }
  };

  test('a message_bytes_max without room for the headers under max_payload is refused at start', async () => {
    await withBroker(messageBytes + 100, async (config) => {
      await assert.rejects(startIngest(config), /message_bytes_max 81920 exceeds the broker.s max_payload 82020 less 512 for headers/);
    });
  });

  test('a flush filled to message_bytes_max is taken by the broker, headers and all', async () => {
    await withBroker(messageBytes + 512, async (config) => {
      const ingest = await startIngest(config);
      const shards = [await startMiniShard(ingest.transport, 0), await startMiniShard(ingest.transport, 1)];
      try {
        const tag = tagOn(0);
        const post = (n: number): Promise<Response> =>
          fetch(`${ingest.url}/v1/transactions/batch`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ transactions: Array.from({ length: 1_000 }, (_, i) => ({ records: [{ key: `{${tag}}:${n}-${i}`, value: i }] })) }),
          });
        const answers = await Promise.all([post(0), post(1)]);
        const results = await Promise.all(answers.map(async (a) => ((await a.json()) as { results: { status: number }[] }).results));
        assert.deepEqual([...new Set(results.flat().map((x) => x.status))], [200]);
        // 2,000 small transactions on one shard fill more than one message: the first flush went by size.
        assert.ok((shards[0]?.received.length ?? 0) >= 2, `messages on shard 0: ${shards[0]?.received.length}`);
      } finally {
        for (const s of shards) await s.stop();
        await ingest.stop();
      }
    });
  });
});

describe('back-pressure and timeouts', { timeout: 60_000 }, () => {
  test('full gateway answers 503 with Retry-After; unanswered commits time out with 504', async () => {
    // No shard answers: every admitted transaction stays a waiter until commit_wait_ms_max.
    const r = await rig({ waiters_max: 2, pending_txs_max: 2, request_txs_max: 2, commit_wait_ms_max: 1_000, retry_after_s: 3 }, false);
    try {
      const hanging = [r.post('/v1/transactions', { records: [{ key: 'a', value: 1 }] }), r.post('/v1/transactions', { records: [{ key: 'b', value: 1 }] })];
      await new Promise((resolve) => setTimeout(resolve, 200));
      const full = await r.post('/v1/transactions', { records: [{ key: 'c', value: 1 }] });
      assert.equal(full.status, 503);
      assert.equal(errorCode(full.json), 'backpressure');
      assert.equal(full.headers.get('retry-after'), '3');
      const fullBatch = await r.post('/v1/transactions/batch', { transactions: [{ records: [{ key: 'd', value: 1 }] }] });
      assert.equal(fullBatch.status, 503);
      for (const res of await Promise.all(hanging)) {
        assert.equal(res.status, 504);
        assert.equal(errorCode(res.json), 'timeout');
      }
      const afterwards = await r.post('/v1/transactions?wait=accepted', { records: [{ key: 'e', value: 1 }] });
      assert.equal(afterwards.status, 200, 'capacity comes back once waiters are answered');
    } finally {
      await r.close();
    }
  });

  test('request bodies share body_bytes_inflight_max: past it, 503 backpressure', async () => {
    const r = await rig({ body_bytes_max: 4_096, body_bytes_inflight_max: 6_000 }, false);
    try {
      const { request } = await import('node:http');
      // A client that sends 4,000 bytes of its body and then stalls holds them in the gateway.
      const stalled = request(`${r.ingest.url}/v1/transactions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '4096' } });
      stalled.on('error', () => undefined);
      stalled.write(' '.repeat(4_000));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const refused = await r.post('/v1/transactions', { records: [{ key: 'k', value: 'x'.repeat(2_500) }] });
      assert.equal(refused.status, 503);
      assert.equal(errorCode(refused.json), 'backpressure');
      stalled.destroy();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const accepted = await r.post('/v1/transactions?wait=accepted', { records: [{ key: 'k', value: 'x'.repeat(2_500) }] });
      assert.equal(accepted.status, 200, 'the stalled body was released when its connection closed');
    } finally {
      await r.close();
    }
  });

  test('wait=accepted needs no shard; a later commit of the same id still answers committed', async () => {
    const r = await rig({}, false);
    try {
      const res = await r.post('/v1/transactions?wait=accepted', { id: 'late-1', records: [{ key: 'late', value: 1 }] });
      assert.equal(res.status, 200);
      assert.equal(res.json['status'], 'accepted');
      const pending = r.post('/v1/transactions', { id: 'late-1', records: [{ key: 'late', value: 1 }] });
      r.shards.push(await startMiniShard(r.ingest.transport, 0), await startMiniShard(r.ingest.transport, 1));
      const done = await pending;
      assert.equal(done.status, 200, JSON.stringify(done.json));
      assert.equal(done.json['replayed'], true, 'the shard saw the first publish, so the retry is a replay');
    } finally {
      await r.close();
    }
  });
});
