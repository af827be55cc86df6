// The HTTP layer alone: back-pressure at the in-flight bound and error mapping, with scripted answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get as httpsGet } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { selfSignedCert, tempDir } from '@cairn/testkit';
import { CairnError } from '@cairn/wire';
import { Answers, ConfigError, createProofServer, keygen, loadConfig, openApiDocument, tlsFiles, toCairnError, type ShardReads, type SignedHead, type StateLog } from '../src/index.js';

const head: SignedHead = { size: 1, root: new Uint8Array(32), note: 'note\n' };

async function serve(answers: Partial<Answers>, inflight: number, more: { healthy?: () => boolean; key_bytes_max?: number } = {}): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createProofServer({
    origin: 'o',
    cors_allow_origin: '*',
    requests_inflight_max: inflight,
    retry_after_s: 3,
    answers: answers as Answers,
    signed: () => head,
    health: () => ({ ok: more.healthy?.() ?? true, detail: {} }),
    ...(more.key_bytes_max === undefined ? {} : { key_bytes_max: more.key_bytes_max }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('http: beyond requests_inflight_max the answer is 503 backpressure with Retry-After, at once', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const s = await serve({ key: async () => gate.then(() => ({ ok: true })) }, 2);
  try {
    const slow = [fetch(`${s.url}/v1/keys/a`), fetch(`${s.url}/v1/keys/b`)];
    await new Promise((r) => setTimeout(r, 100));
    const refused = await fetch(`${s.url}/v1/keys/c`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '3');
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'backpressure');
    release();
    for (const r of await Promise.all(slow)) assert.equal(r.status, 200);
    assert.equal((await fetch(`${s.url}/v1/keys/d`)).status, 200, 'slots are given back');
  } finally {
    release();
    await s.close();
  }
});

test('http: /healthz and /metrics answer with every slot taken; an unhealthy /healthz says when to retry', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let healthy = true;
  const s = await serve({ key: async () => gate.then(() => ({ ok: true })) }, 1, { healthy: () => healthy });
  try {
    const slow = fetch(`${s.url}/v1/keys/a`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await fetch(`${s.url}/v1/keys/b`)).status, 503, 'the one slot is taken');
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200, 'a liveness probe is not refused for load');
    assert.equal((await fetch(`${s.url}/metrics`)).status, 200);
    healthy = false;
    const sick = await fetch(`${s.url}/healthz`);
    assert.equal(sick.status, 503);
    assert.equal(sick.headers.get('retry-after'), '3');
    release();
    assert.equal((await slow).status, 200);
  } finally {
    release();
    await s.close();
  }
});

test('http: the longest key the service reads fits the request target, URL-encoded', async () => {
  const key = `{t}:${'é'.repeat(2_046)}`; // 4,096 bytes of UTF-8, 12,292 characters URL-encoded
  let asked = '';
  const s = await serve({ key: async (_h: SignedHead, k: string) => ((asked = k), { ok: true }) }, 2, { key_bytes_max: 4_096 });
  try {
    const res = await fetch(`${s.url}/v1/keys/${encodeURIComponent(key)}`);
    assert.equal(res.status, 200, await res.text());
    assert.equal(asked, key);
  } finally {
    await s.close();
  }
});

test('http: errors map through the wire table; internals are hidden', async () => {
  const s = await serve(
    {
      key: async () => {
        throw new Error('secret internals');
      },
      transaction: async () => {
        throw new CairnError('timeout', 'shard 1 did not answer in time');
      },
      history: async () => {
        throw new CairnError('unavailable', 'no epoch', { retryAfterSeconds: 1 });
      },
    },
    8,
  );
  try {
    const internal = await fetch(`${s.url}/v1/keys/a`);
    assert.equal(internal.status, 500);
    const text = await internal.text();
    assert.ok(!text.includes('secret'), text);
    assert.equal((await fetch(`${s.url}/v1/transactions/t`)).status, 504);
    const unavailable = await fetch(`${s.url}/v1/keys/a/history`);
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.headers.get('retry-after'), '1');
    assert.equal((await fetch(`${s.url}/v1/keys/a/b/c`)).status, 404);
    assert.equal((await fetch(`${s.url}/v1/checkpoint`, { method: 'DELETE' })).status, 405);
    // Browsers may read every answer, errors included, and see Retry-After.
    assert.equal(unavailable.headers.get('access-control-allow-origin'), '*');
    assert.match(unavailable.headers.get('access-control-expose-headers') ?? '', /retry-after/);
    const preflight = await fetch(`${s.url}/v1/keys/a`, { method: 'OPTIONS' });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /GET/);
  } finally {
    await s.close();
  }
  assert.equal(toCairnError({ code: 'STORAGE_OUT_OF_RANGE' }).code, 'not_found');
  assert.equal(toCairnError({ code: 'STORAGE_BUSY' }).code, 'backpressure');
});

test('http: a client that stops reading its answer gives its slot back after answer_ms_max', async () => {
  let entered: () => void = () => undefined;
  const asked = new Promise<void>((resolve) => (entered = resolve));
  const server = createProofServer({
    origin: 'o',
    requests_inflight_max: 1,
    retry_after_s: 1,
    // Wide enough that building and writing the 32 MiB answer on a loaded box does not pass it first.
    answer_ms_max: 1_500,
    answers: {
      // Far more than the socket buffers hold, so the answer cannot be written out to a stalled reader.
      history: async () => {
        entered();
        return { records: 'x'.repeat(32 * 1024 * 1024) };
      },
      key: async () => ({ ok: true }),
    } as unknown as Answers,
    signed: () => head,
    health: () => ({ ok: true, detail: {} }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stalled = connect((server.address() as AddressInfo).port, '127.0.0.1');
  try {
    await new Promise<void>((resolve) => stalled.once('connect', resolve));
    stalled.write('GET /v1/keys/a/history HTTP/1.1\r\nHost: x\r\n\r\n');
    stalled.pause(); // never reads
    await asked;
    assert.equal((await fetch(`${url}/v1/keys/b`)).status, 503, 'the stalled reader holds the only slot');
    let status = 503;
    const until = Date.now() + 10_000;
    while (status === 503 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await fetch(`${url}/v1/keys/b`)).status;
    }
    assert.equal(status, 200, 'the slot came back');
  } finally {
    stalled.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('http: an answer not ready within answer_ms_max is 504 timeout, and the slot is given back', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const server = createProofServer({
    origin: 'o',
    requests_inflight_max: 1,
    retry_after_s: 1,
    answer_ms_max: 200,
    answers: { key: async (_h: SignedHead, key: string) => (key === 'slow' ? gate.then(() => ({ late: true })) : { ok: true }) } as unknown as Answers,
    signed: () => head,
    health: () => ({ ok: true, detail: {} }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const slow = await fetch(`${url}/v1/keys/slow`);
    assert.equal(slow.status, 504);
    assert.equal(((await slow.json()) as { error: { code: string } }).error.code, 'timeout');
    release();
    await new Promise((r) => setTimeout(r, 50)); // the late answer must not disturb anything
    assert.equal((await fetch(`${url}/v1/keys/b`)).status, 200);
  } finally {
    release();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('http: state sizes in queries: malformed is 400 bad_query, past the checkpoint is 404 not_found (docs/design/proofs.md)', async () => {
  const answers = new Answers({} as StateLog, {} as ShardReads, { shards: 1, history_versions_max: 10, tx_records_max: 10, key_bytes_max: 1024 });
  const s = await serve({ key: async () => ({ ok: true }), consistency: (h, from, to) => answers.consistency(h, from, to) }, 8);
  const codeOf = async (path: string): Promise<[number, string | undefined]> => {
    const r = await fetch(`${s.url}${path}`);
    const body = (await r.json()) as { error?: { code: string } };
    return [r.status, body.error?.code];
  };
  try {
    for (const bad of ['0', '01', '-1', '1.5', '1e3', ' 1', '']) {
      assert.deepEqual(await codeOf(`/v1/keys/a?at=${encodeURIComponent(bad)}`), [400, 'bad_query'], `at=${bad}`);
    }
    assert.deepEqual(await codeOf('/v1/keys/a?at=1&at=1'), [400, 'bad_query']);
    assert.deepEqual(await codeOf('/v1/keys/a?at=99999999999999999999'), [404, 'not_found']);
    assert.deepEqual(await codeOf('/v1/consistency'), [400, 'bad_query']);
    assert.deepEqual(await codeOf('/v1/consistency?from=2&to=1'), [400, 'bad_query']);
    // head.size is 1: a `from` past it, with `to` left to default to the checkpoint, is not signed yet.
    assert.deepEqual(await codeOf('/v1/consistency?from=5'), [404, 'not_found']);
    assert.deepEqual(await codeOf('/v1/consistency?from=1&to=5'), [404, 'not_found']);
    assert.deepEqual(await codeOf('/v1/consistency?from=99999999999999999999'), [404, 'not_found']);
  } finally {
    await s.close();
  }
});

test('http: a request body (the read API takes none) is not drained without bound: the connection is closed after the answer', async () => {
  const s = await serve({ key: async () => ({ ok: true }) }, 8);
  const port = Number(new URL(s.url).port);
  try {
    for (const [line, status] of [
      ['POST /v1/keys/a HTTP/1.1', '405'],
      ['GET /v1/keys/a HTTP/1.1', '200'],
    ] as const) {
      const socket = connect(port, '127.0.0.1');
      let received = '';
      let closed = false;
      socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => (closed = true));
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write(`${line}\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
      const chunk = `4000\r\n${' '.repeat(0x4000)}\r\n`;
      const until = Date.now() + 1_500;
      while (!closed && Date.now() < until) {
        socket.write(chunk);
        await new Promise((r) => setTimeout(r, 5));
      }
      socket.destroy();
      assert.ok(received.startsWith(`HTTP/1.1 ${status} `), `${line}: ${received.split('\r\n')[0] ?? ''}`);
      assert.ok(closed, `${line}: the server kept reading the body`);
    }
    assert.equal((await fetch(`${s.url}/v1/keys/a`)).status, 200, 'requests without a body keep working');
  } finally {
    await s.close();
  }
});

test('openapi: every data route documents each status it can answer', () => {
  const doc = openApiDocument() as { paths: Record<string, { get: { responses: Record<string, unknown> } }> };
  for (const path of ['/v1/keys/{key}', '/v1/keys/{key}/history', '/v1/transactions/{id}', '/v1/consistency']) {
    const responses = doc.paths[path]?.get.responses;
    assert.ok(responses !== undefined, path);
    for (const status of ['200', '400', '404', '413', '500', '503', '504']) assert.ok(status in responses, `${path} ${status}`);
  }
  // The shard route reads no key and no records, so it has no 413; it lists exactly what it answers.
  const shard = doc.paths['/v1/shards/{shard}/consistency']?.get.responses;
  assert.deepEqual(Object.keys(shard ?? {}).sort(), ['200', '400', '404', '500', '503', '504']);
});

test('http: clients that disconnect early do not free slots while their answers still run (requests_inflight_max bounds the work)', async () => {
  let running = 0;
  let peak = 0;
  const s = await serve(
    {
      history: async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 400));
        running -= 1;
        return { ok: true };
      },
    },
    2,
  );
  try {
    const asked: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i += 1) {
      const abort = new AbortController();
      asked.push(fetch(`${s.url}/v1/keys/a/history`, { signal: abort.signal }).catch(() => 'gone'));
      await new Promise((r) => setTimeout(r, 10));
      abort.abort();
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(asked);
    assert.ok(peak <= 2, `${peak} answers ran at once with requests_inflight_max 2`);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await fetch(`${s.url}/v1/keys/a/history`)).status, 200, 'the slots come back once the work is done');
  } finally {
    await s.close();
  }
});

test('answers: a cancelled history stops asking the shards for proofs', async () => {
  const stored = {
    epoch: 1,
    bytes: new Uint8Array(1),
    state: { origin: 'o', epoch: 1, cut: 1, shards: [{ size: 10_000, root: new Uint8Array(32) }] },
    entry: { txId: 'epoch-1', key: 'cairn/state', version: 1, valueHash: new Uint8Array(32), metaHash: new Uint8Array(32) },
  };
  const log = { state: async () => stored, inclusionProof: async () => [] } as unknown as StateLog;
  let proofsAsked = 0;
  const leaves = Array.from({ length: 1_000 }, (_, i) => ({
    leafIndex: i,
    entry: { txId: `t${i}`, key: 'k', version: i + 1, valueHash: new Uint8Array(32), metaHash: new Uint8Array(32) },
    value: new Uint8Array(1),
    erased: false,
  }));
  const reads = {
    history: async () => leaves,
    meta: async () => new Uint8Array(2),
    inclusionProof: async () => {
      proofsAsked += 1;
      await new Promise((r) => setTimeout(r, 20));
      return [];
    },
  } as unknown as ShardReads;
  const answers = new Answers(log, reads, { shards: 1, history_versions_max: 10_000, tx_records_max: 10, key_bytes_max: 1024 });
  const cancel = new AbortController();
  setTimeout(() => cancel.abort(), 60);
  await assert.rejects(answers.history(head, 'k', undefined, cancel.signal), (e: unknown) => e instanceof CairnError && e.code === 'timeout');
  const askedAtCancel = proofsAsked;
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(proofsAsked < leaves.length / 2, `${proofsAsked} of ${leaves.length} proofs were asked for after the cancel`);
  assert.equal(proofsAsked, askedAtCancel, 'nothing new starts after the answer is abandoned');
});

test('answers: keys are checked against the configured key_bytes_max, so a key the ingest was set to accept can be read', async () => {
  const log = { state: async () => Promise.reject(new Error('state read reached')) } as unknown as StateLog;
  const head = { size: 1 } as SignedHead;
  const codeOf = async (answers: Answers, key: string): Promise<string> => {
    try {
      await answers.key(head, key, undefined);
    } catch (error) {
      return error instanceof CairnError ? error.code : (error as Error).message;
    }
    return 'answered';
  };
  const limits = { shards: 1, history_versions_max: 10, tx_records_max: 10 };
  const wide = new Answers(log, {} as ShardReads, { ...limits, key_bytes_max: 2_000 });
  const narrow = new Answers(log, {} as ShardReads, { ...limits, key_bytes_max: 1_024 });
  const key1500 = `{t}:${'k'.repeat(1_496)}`;
  assert.equal(await codeOf(wide, key1500), 'state read reached');
  assert.equal(await codeOf(narrow, key1500), 'key_too_large');
  assert.equal(await codeOf(wide, `{t}:${'k'.repeat(1_997)}`), 'key_too_large');
});

test('http: a client that leaves mid-answer cancels its work; an answered request is not aborted (no DOMException per request)', async () => {
  const signals: AbortSignal[] = [];
  const s = await serve(
    {
      history: async (_head, _key, _at, signal) => {
        if (signal !== undefined) signals.push(signal);
        await new Promise((r) => setTimeout(r, signals.length === 1 ? 0 : 300));
        return { ok: true };
      },
    },
    4,
  );
  try {
    assert.equal((await fetch(`${s.url}/v1/keys/a/history`)).status, 200);
    const leaving = new AbortController();
    const gone = fetch(`${s.url}/v1/keys/a/history`, { signal: leaving.signal }).catch(() => 'gone');
    await new Promise((r) => setTimeout(r, 50));
    leaving.abort();
    assert.equal(await gone, 'gone');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(signals.length, 2);
    assert.equal(signals[0]?.aborted, false, 'the answered request');
    assert.equal(signals[1]?.aborted, true, 'the request whose client left');
  } finally {
    await s.close();
  }
});

test('http: with a certificate and key the read API is HTTPS; the settings go together', async () => {
  const dir = tempDir('proof-tls');
  try {
    const cert = selfSignedCert(dir.path);
    const config = loadConfig({ CAIRN_SIGNER_KEY: keygen('o').signerKey, CAIRN_PROOF_TLS_CERT_FILE: cert.certFile, CAIRN_PROOF_TLS_KEY_FILE: cert.keyFile }, []);
    const tls = tlsFiles(config);
    assert.ok(tls !== undefined);
    const server = createProofServer({ origin: 'o', requests_inflight_max: 4, retry_after_s: 1, answers: {} as Answers, signed: () => head, health: () => ({ ok: true, detail: {} }), tls });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const note = await new Promise<string>((resolve, reject) => {
        httpsGet({ host: '127.0.0.1', port, path: '/v1/checkpoint', ca: cert.cert }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
        }).once('error', reject);
      });
      assert.equal(note, head.note);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    assert.throws(() => tlsFiles({ tls_cert_file: cert.certFile, tls_key_file: '' }), (e: unknown) => e instanceof ConfigError && /go together/.test(e.message));
  } finally {
    dir.remove();
  }
});
