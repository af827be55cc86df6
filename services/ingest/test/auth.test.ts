// API keys: the HTTP layer with a stub gateway (which transactions reach it), the keys file's
// checks, the start-up rule for hosts beyond loopback, and the real process with a keys file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { selfSignedCert, startNatsCluster, startNatsServer, tempDir, until, type NatsServer, type NatsServerOptions, type TestCert } from '@cairn/testkit';
import { ApiKeys, authMode, cachedShardOf, configDefaults, createIngestServer, loadConfig, newApiKey, nodeSha256, type Gateway, type IngestConfig, type Outcome } from '../src/index.js';

const mainJs = fileURLToPath(new URL('../src/main.js', import.meta.url));
const ANSWER_MS_MAX = 5_000;

const shop42 = newApiKey('shop42-backend', ['shop42'], randomBytes(32));
const ops = newApiKey('ops', ['*'], randomBytes(32));
const keysJson = JSON.stringify({ keys: [shop42.entry, ops.entry] });

interface Served {
  port: number;
  /** Record keys of every transaction the stub gateway was handed. */
  submitted: string[][];
  /** Answers the transactions `hold` kept waiting. */
  release: () => void;
  close: () => Promise<void>;
}

interface ServeOptions {
  readonly config?: Partial<IngestConfig>;
  /** Transactions (by their record keys) the stub gateway leaves unanswered until release(). */
  readonly hold?: (keys: readonly string[]) => boolean;
}

async function serve(apiKeys: ApiKeys | undefined, options: ServeOptions = {}): Promise<Served> {
  const config = { ...configDefaults(), ...options.config };
  const submitted: string[][] = [];
  const held: (() => void)[] = [];
  const accepted: Outcome = { ok: true, receipt: { id: 't', status: 'accepted', shards: [] } };
  const gateway = {
    submit: (txs: readonly { records: readonly { key: string }[] }[]) => {
      for (const tx of txs) submitted.push(tx.records.map((r) => r.key));
      return txs.map((tx): Promise<Outcome> => {
        if (options.hold?.(tx.records.map((r) => r.key)) !== true) return Promise.resolve(accepted);
        return new Promise((resolve) => held.push(() => resolve(accepted)));
      });
    },
    stats: {},
  } as unknown as Gateway;
  const validate = { limits: config, shardCount: config.shards, sha256: nodeSha256, shardOfTag: cachedShardOf(config.shards, nodeSha256) };
  const server = createIngestServer({ config, gateway, validate, healthy: () => true, ...(apiKeys === undefined ? {} : { apiKeys }) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    submitted,
    release: () => held.splice(0).forEach((answer) => answer()),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

interface Answer {
  status: number;
  body: { error?: { code: string; path?: string }; results?: { status: number; error?: { code: string; path?: string } }[] };
  authenticate: string | undefined;
  retryAfter: string | undefined;
}

/** `ca`: HTTPS, trusting that certificate. */
function send(port: number, method: string, path: string, headers: Record<string, string>, body = '', ca?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const all = { ...(body === '' ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }), ...headers };
    const options = { host: '127.0.0.1', port, path, method, headers: all, timeout: ANSWER_MS_MAX };
    const req = (ca === undefined ? request : httpsRequest)({ ...options, ...(ca === undefined ? {} : { ca }) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Answer['body'], authenticate: res.headers['www-authenticate'], retryAfter: res.headers['retry-after'] }));
    });
    req.once('timeout', () => req.destroy(new Error(`no answer in ${ANSWER_MS_MAX} ms`)));
    req.once('error', reject);
    req.end(body);
  });
}

type GatewayProcess = ChildProcessByStdio<null, Readable, Readable>;

/** Resolves with the first match of `pattern` in the child's output, within 15 s. */
function outputMatch(child: GatewayProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ${String(pattern)} within 15 s:\n${out}`)), 15_000);
    const take = (d: Buffer): void => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      resolve(m);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
  });
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const tx = (...keys: string[]): string => JSON.stringify({ records: keys.map((key) => ({ key, value: 1 })) });

test('auth: a write without a valid API key is 401 with WWW-Authenticate, and reaches nobody', async () => {
  const s = await serve(ApiKeys.parse(keysJson));
  try {
    const unknown = newApiKey('stranger', ['shop42'], randomBytes(32)).token;
    const refused: Record<string, string>[] = [
      {},
      { authorization: '' },
      { authorization: `Basic ${Buffer.from(`u:${shop42.token}`).toString('base64')}` },
      { authorization: shop42.token },
      bearer(shop42.token.slice(0, 20)),
      bearer(`${shop42.token}x`),
      bearer(unknown),
      bearer(shop42.entry.sha256),
    ];
    for (const headers of refused) {
      for (const [path, body] of [['/v1/transactions', tx('{shop42}:a')], ['/v1/transactions/batch', JSON.stringify({ transactions: [JSON.parse(tx('{shop42}:a'))] })]] as const) {
        const a = await send(s.port, 'POST', path, headers, body);
        assert.equal(a.status, 401, `${path} ${JSON.stringify(headers)}`);
        assert.equal(a.body.error?.code, 'unauthenticated');
        assert.equal(a.authenticate, 'Bearer realm="cairn-ingest"');
      }
    }
    assert.deepEqual(s.submitted, []);
    // The scheme is case-insensitive (RFC 9110 11.1); the token is not.
    assert.equal((await send(s.port, 'POST', '/v1/transactions', { authorization: `bearer ${shop42.token}` }, tx('{shop42}:a'))).status, 200);
    assert.equal((await send(s.port, 'POST', '/v1/transactions', bearer(shop42.token.toUpperCase()), tx('{shop42}:a'))).status, 401);
  } finally {
    await s.close();
  }
});

test('auth: two Authorization fields, or a body on its way, get 401 before the body is read', async () => {
  const s = await serve(ApiKeys.parse(keysJson));
  try {
    const socket = connect(s.port, '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    // A valid key twice still counts as two fields; and 1 MB of body is announced but never sent.
    socket.write(
      `POST /v1/transactions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n` +
        `Authorization: Bearer ${shop42.token}\r\nAuthorization: Bearer ${shop42.token}\r\n\r\n`,
    );
    const deadline = Date.now() + ANSWER_MS_MAX;
    while (!received.includes('\r\n\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    socket.destroy();
    assert.match(received, /^HTTP\/1\.1 401 /);
    assert.match(received, /\r\nconnection: close\r\n/i, 'the unread body is not kept on the connection');
    assert.deepEqual(s.submitted, []);
  } finally {
    await s.close();
  }
});

test('auth: a key writes only under its hash tags; a transaction with one other tag writes nothing', async () => {
  const s = await serve(ApiKeys.parse(keysJson));
  try {
    const ok = await send(s.port, 'POST', '/v1/transactions', bearer(shop42.token), tx('{shop42}:order:1', '{shop42}:stock:7'));
    assert.equal(ok.status, 200);
    const mixed = await send(s.port, 'POST', '/v1/transactions', bearer(shop42.token), tx('{shop42}:order:2', '{shop43}:stock:7'));
    assert.equal(mixed.status, 403);
    assert.equal(mixed.body.error?.code, 'forbidden_tag');
    assert.equal(mixed.body.error?.path, 'records[1].key');
    // A key without a hash tag hashes whole: it is its own tag, which this key was not given.
    assert.equal((await send(s.port, 'POST', '/v1/transactions', bearer(shop42.token), tx('shop42'))).status, 200);
    assert.equal((await send(s.port, 'POST', '/v1/transactions', bearer(shop42.token), tx('shop42:order:3'))).status, 403);
    const batch = JSON.stringify({ transactions: [JSON.parse(tx('{shop42}:a')), JSON.parse(tx('{shop43}:b')), JSON.parse(tx('{shop42}:c'))] });
    const b = await send(s.port, 'POST', '/v1/transactions/batch', bearer(shop42.token), batch);
    assert.equal(b.status, 200);
    assert.deepEqual(b.body.results?.map((r) => r.status), [200, 403, 200]);
    assert.equal(b.body.results?.[1]?.error?.code, 'forbidden_tag');
    assert.equal(b.body.results?.[1]?.error?.path, 'transactions[1].records[0].key');
    // The operator's "*" key writes anywhere.
    assert.equal((await send(s.port, 'POST', '/v1/transactions', bearer(ops.token), tx('{shop43}:x', '{shop44}:y'))).status, 200);
    assert.deepEqual(s.submitted, [['{shop42}:order:1', '{shop42}:stock:7'], ['shop42'], ['{shop42}:a'], ['{shop42}:c'], ['{shop43}:x', '{shop44}:y']]);
  } finally {
    await s.close();
  }
});

test('auth: a key with api_key_waiters_max transactions waiting gets 503 api_key_busy; other keys still write', async () => {
  const s = await serve(ApiKeys.parse(keysJson), { config: { api_key_waiters_max: 3, request_txs_max: 3 }, hold: (keys) => keys.some((k) => k.startsWith('{shop42}')) });
  try {
    const write = (token: string, body: string, path = '/v1/transactions?wait=accepted'): Promise<Answer> => send(s.port, 'POST', path, bearer(token), body);
    const batch = JSON.stringify({ transactions: [0, 1].map((i) => ({ records: [{ key: `{shop42}:b${i}`, value: i }] })) });
    const pending = [write(shop42.token, batch, '/v1/transactions/batch?wait=accepted'), write(shop42.token, tx('{shop42}:c'))];
    const handed = (n: number) => async (): Promise<true | undefined> => (s.submitted.length === n ? true : undefined);
    await until('three transactions at the gateway', ANSWER_MS_MAX, handed(3));
    const busy = await write(shop42.token, tx('{shop42}:d'));
    assert.equal(busy.status, 503);
    assert.equal(busy.body.error?.code, 'api_key_busy');
    assert.equal(busy.retryAfter, String(configDefaults().retry_after_s));
    const busyBatch = await write(shop42.token, batch, '/v1/transactions/batch?wait=accepted');
    assert.equal(busyBatch.body.error?.code, 'api_key_busy', 'a batch that does not fit the share is refused whole');
    assert.equal((await write(ops.token, tx('{shop43}:a'))).status, 200, 'another key still writes');
    assert.equal(s.submitted.length, 4, 'nothing of a refused request reached the gateway');
    s.release();
    assert.deepEqual((await Promise.all(pending)).map((a) => a.status), [200, 200]);
    const again = write(shop42.token, tx('{shop42}:e'));
    await until('the fifth transaction at the gateway', ANSWER_MS_MAX, handed(5));
    s.release();
    assert.equal((await again).status, 200, 'the share was given back once the writes were answered');
  } finally {
    s.release();
    await s.close();
  }
});

test('auth: health, metrics and the OpenAPI document need no key; without keys no write does', async () => {
  const s = await serve(ApiKeys.parse(keysJson));
  try {
    for (const path of ['/healthz', '/openapi.json']) assert.equal((await send(s.port, 'GET', path, {})).status, 200, path);
    const doc = (await send(s.port, 'GET', '/openapi.json', {})).body as unknown as { paths: Record<string, { post?: { responses: Record<string, unknown> } }> };
    for (const path of ['/v1/transactions', '/v1/transactions/batch']) assert.ok(doc.paths[path]?.post?.responses['401'] !== undefined, `${path} documents 401`);
  } finally {
    await s.close();
  }
  const open = await serve(undefined);
  try {
    assert.equal((await send(open.port, 'POST', '/v1/transactions', {}, tx('{shop43}:a'))).status, 200);
  } finally {
    await open.close();
  }
});

test('auth: a keys file is checked whole at start, with the entry at fault named', () => {
  const entry = shop42.entry;
  const bad: [unknown, RegExp][] = [
    ['{', /not JSON/],
    [{ keys: [] }, /1\.\.10000 keys/],
    [{ keys: [entry], extra: 1 }, /\{"keys": \[\.\.\.\]\} and nothing else/],
    [{ keys: [{ ...entry, role: 'admin' }] }, /keys\[0\] has an unknown field "role"/],
    [{ keys: [{ ...entry, sha256: entry.sha256.toUpperCase() }] }, /keys\[0\]\.sha256/],
    [{ keys: [{ ...entry, sha256: entry.sha256.slice(1) }] }, /keys\[0\]\.sha256/],
    [{ keys: [{ ...entry, name: '' }] }, /keys\[0\]\.name/],
    [{ keys: [{ ...entry, tags: [] }] }, /keys\[0\]\.tags/],
    [{ keys: [{ ...entry, tags: ['*', 'shop42'] }] }, /"\*" stands alone/],
    [{ keys: [{ ...entry, tags: ['shop}42'] }] }, /is not a hash tag/],
    [{ keys: [{ ...entry, tags: [42] }] }, /is not a hash tag/],
    [{ keys: [entry, { ...ops.entry, sha256: entry.sha256 }] }, /keys\[1\] repeats the digest of shop42-backend/],
    [{ keys: [entry, { ...ops.entry, name: entry.name }] }, /keys\[1\] repeats the name shop42-backend/],
  ];
  for (const [doc, message] of bad) assert.throws(() => ApiKeys.parse(typeof doc === 'string' ? doc : JSON.stringify(doc)), message, JSON.stringify(doc));
  assert.equal(ApiKeys.parse(keysJson).size, 2);
});

test('auth: a key is found by its own token and by nothing else', () => {
  const keys = ApiKeys.parse(keysJson);
  assert.equal(keys.authenticate(`Bearer ${shop42.token}`)?.name, 'shop42-backend');
  assert.equal(keys.authenticate(`Bearer ${ops.token}`)?.name, 'ops');
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (header) => {
      const found = keys.authenticate(header);
      const expected = header.split(' ').length >= 2 && /^bearer$/i.test(header.slice(0, header.indexOf(' '))) && [shop42.token, ops.token].includes(header.slice(header.indexOf(' ') + 1).trim());
      assert.equal(found !== undefined, expected, header);
    }),
  );
});

test('config: a gateway beyond loopback needs API keys, or auth=none said on purpose', () => {
  const check = (over: Partial<IngestConfig>): string => authMode({ ...configDefaults(), ...over });
  assert.equal(check({}), 'none');
  assert.equal(check({ host: '::1' }), 'none');
  assert.throws(() => check({ host: '0.0.0.0' }), /host 0\.0\.0\.0 is not loopback: set api_keys_file \(CAIRN_INGEST_API_KEYS_FILE\), or auth=none/);
  assert.equal(check({ host: '0.0.0.0', auth: 'none' }), 'none');
  assert.equal(check({ host: '0.0.0.0', api_keys_file: '/etc/cairn/keys.json' }), 'api_keys');
  assert.equal(check({ api_keys_file: '/etc/cairn/keys.json' }), 'api_keys');
  assert.throws(() => check({ auth: 'api_keys' }), /needs api_keys_file/);
  assert.throws(() => check({ auth: 'none', api_keys_file: '/k.json' }), /contradicts/);
  assert.throws(() => loadConfig({ CAIRN_INGEST_HOST: '10.0.0.5' }, []), /not loopback/);
  assert.throws(() => loadConfig({ CAIRN_INGEST_AUTH: 'maybe' }, []), /auth/);
});

/** A nats-server (options made in the test's temporary directory) for `body`; both go afterwards. */
async function withBroker(name: string, options: (dir: string) => NatsServerOptions, body: (nats: NatsServer, dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir(name);
  const nats = await startNatsServer(options(dir.path));
  try {
    await body(nats, dir.path);
  } finally {
    await nats.stop();
    dir.remove();
  }
}

/** The gateway process to its exit (a start that must fail). */
function gatewayExit(env: Record<string, string>): { status: number | null; stderr: string } {
  return spawnSync(process.execPath, [mainJs], { env, encoding: 'utf8', timeout: 30_000 });
}

/** The gateway process, once its output matches `ready`, for `body`; killed afterwards. */
async function withGateway(env: Record<string, string>, ready: RegExp, body: (match: RegExpExecArray, child: GatewayProcess) => Promise<void> = async () => undefined): Promise<void> {
  const child = spawn(process.execPath, [mainJs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await body(await outputMatch(child, ready), child);
  } finally {
    child.kill('SIGKILL');
  }
}

/** The environment of a gateway on an ephemeral port with its own stream. */
const gatewayEnv = (nats: NatsServer, stream: string): Record<string, string> => ({
  PATH: process.env['PATH'] ?? '',
  CAIRN_NATS_URL: nats.url,
  CAIRN_INGEST_PORT: '0',
  CAIRN_STREAM: stream.toUpperCase(),
  CAIRN_SUBJECT_PREFIX: stream,
});

test('cairn-ingest with a keys file over HTTPS: refuses a bad file at start, serves keyed writes', async () => {
  await withBroker('ingest-auth', () => ({}), async (nats, dir) => {
    const file = join(dir, 'keys.json');
    const cert = selfSignedCert(dir);
    writeFileSync(file, JSON.stringify({ keys: [{ ...shop42.entry, tags: [] }] }));
    const env = { ...gatewayEnv(nats, 'authtest'), CAIRN_INGEST_API_KEYS_FILE: file, CAIRN_INGEST_TLS_CERT_FILE: cert.certFile, CAIRN_INGEST_TLS_KEY_FILE: cert.keyFile };
    const bad = gatewayExit(env);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /api_keys_file .*keys\.json: keys\[0\]\.tags/);
    writeFileSync(file, keysJson);
    await withGateway(env, /listening on (https:\/\/[0-9.:]+) .*2 API keys/, async ([, url = '']) => {
      const port = Number(new URL(url).port);
      assert.equal((await send(port, 'POST', '/v1/transactions?wait=accepted', {}, tx('{shop42}:a'), cert.cert)).status, 401);
      assert.equal((await send(port, 'POST', '/v1/transactions?wait=accepted', bearer(shop42.token), tx('{shop43}:a'), cert.cert)).status, 403);
      const ok = await send(port, 'POST', '/v1/transactions?wait=accepted', bearer(shop42.token), tx('{shop42}:a'), cert.cert);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      // The token never crosses in clear: plain HTTP to the port gets no answer.
      await assert.rejects(send(port, 'POST', '/v1/transactions?wait=accepted', bearer(shop42.token), tx('{shop42}:b')));
    });
  });
});

test('cairn-ingest reads its keys file again on SIGHUP, in every worker; a bad file keeps the keys in force', async () => {
  await withBroker('ingest-reload', () => ({}), async (nats, dir) => {
    const file = join(dir, 'keys.json');
    writeFileSync(file, keysJson);
    const shop43 = newApiKey('shop43-backend', ['shop43'], randomBytes(32));
    const env = { ...gatewayEnv(nats, 'reloadtest'), CAIRN_INGEST_API_KEYS_FILE: file, CAIRN_INGEST_WORKERS: '2' };
    await withGateway(env, /listening on (http:\/\/[0-9.:]+)[^]*listening on/, async ([, url = ''], child) => {
      const port = Number(new URL(url).port);
      // A new connection each time, so that both workers answer (the primary hands them round).
      const status = async (token: string, key: string): Promise<number> =>
        (await send(port, 'POST', '/v1/transactions?wait=accepted', { ...bearer(token), connection: 'close' }, tx(key))).status;
      const statuses = async (token: string, key: string): Promise<number[]> => [await status(token, key), await status(token, key), await status(token, key), await status(token, key)];
      const reload = async (pattern: RegExp): Promise<void> => {
        const both = outputMatch(child, new RegExp(`${pattern.source}[^]*${pattern.source}`));
        child.kill('SIGHUP');
        await both;
      };
      assert.deepEqual(await statuses(shop42.token, '{shop42}:a'), [200, 200, 200, 200]);
      assert.deepEqual(await statuses(shop43.token, '{shop43}:a'), [401, 401, 401, 401]);

      writeFileSync(file, JSON.stringify({ keys: [shop43.entry, ops.entry] }));
      await reload(/reloaded 2 API keys/);
      assert.deepEqual(await statuses(shop42.token, '{shop42}:b'), [401, 401, 401, 401], 'a removed key is refused by every worker');
      assert.deepEqual(await statuses(shop43.token, '{shop43}:b'), [200, 200, 200, 200], 'an added key works in every worker');

      writeFileSync(file, '{"keys": [');
      await reload(/kept the 2 API keys in force: .*keys\.json: not JSON/);
      assert.deepEqual(await statuses(shop43.token, '{shop43}:c'), [200, 200, 200, 200], 'the keys in force stay after a bad file');
      assert.equal(child.exitCode, null, 'still running');
    });
  });
});

test('cairn-ingest waits for a JetStream that is not ready yet, and a SIGHUP meanwhile does not end it', async () => {
  const cluster = await startNatsCluster({ nodes: 3 });
  const dir = tempDir('ingest-early-hup');
  try {
    const [first, ...others] = cluster.nodes;
    assert.ok(first !== undefined);
    // One node of three alone has no JetStream metadata leader: the gateway's start waits.
    await Promise.all(cluster.nodes.map((n) => n.kill()));
    await first.restart();
    const file = join(dir.path, 'keys.json');
    writeFileSync(file, keysJson);
    const env = { ...gatewayEnv(first, 'earlyhup'), CAIRN_REPLICAS: '3', CAIRN_INGEST_API_KEYS_FILE: file };
    const child = spawn(process.execPath, [mainJs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const told = outputMatch(child, /not started yet/);
      child.kill('SIGHUP');
      await told;
      assert.equal(child.exitCode, null, 'still starting');
      const listening = outputMatch(child, /listening on/);
      await Promise.all(others.map((n) => n.restart()));
      await listening;
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    await cluster.stop();
    dir.remove();
  }
});

test('cairn-ingest against a broker that asks for a token: refused without it, named why; served with it', async () => {
  const token = 'ingest-test-token-5e1b';
  await withBroker('ingest-nats-token', () => ({ token }), async (nats, dir) => {
    const file = join(dir, 'nats-token');
    const env = gatewayEnv(nats, 'tokentest');
    const without = gatewayExit(env);
    assert.equal(without.status, 1);
    assert.match(without.stderr, /refused the credentials/);
    writeFileSync(file, 'not-the-token\n');
    const wrong = gatewayExit({ ...env, CAIRN_NATS_TOKEN_FILE: file });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /refused the credentials/);
    assert.ok(!wrong.stderr.includes('not-the-token'), 'the token is never echoed');
    writeFileSync(file, `${token}\n`);
    await withGateway({ ...env, CAIRN_NATS_TOKEN_FILE: file }, /listening on/);
  });
});

test('cairn-ingest against a broker that takes clients over TLS: verified with CAIRN_NATS_CA_FILE, refused without it', async () => {
  let cert: TestCert | undefined;
  await withBroker('ingest-nats-tls', (dir) => ({ tls: (cert = selfSignedCert(dir)) }), async (nats) => {
    assert.ok(cert !== undefined);
    const env = gatewayEnv(nats, 'tlstest');
    const without = gatewayExit(env);
    assert.equal(without.status, 1, without.stderr);
    assert.match(without.stderr, /cannot connect/);
    await withGateway({ ...env, CAIRN_NATS_CA_FILE: cert.certFile }, /listening on/);
  });
});
