// The HTTP layer alone, with a stub gateway (no broker): what happens to request bodies the
// gateway never reads, which bodies it takes at all, and the bound on open connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingMessage, request } from 'node:http';
import { connect, Socket, type AddressInfo } from 'node:net';
import { assertConnectionsBoundOfTwo } from '@cairn/testkit';
import fc from 'fast-check';
import { cachedShardOf, configDefaults, createIngestServer, loadConfig, nodeSha256, type Gateway, type IngestConfig, type Outcome } from '../src/index.js';
import { hostOfHeader, isJsonMediaType, soleHeader } from '../src/http.js';
import { defaultSha256 } from '@cairn/wire';
import { allowedHosts } from '../src/config.js';

const CHUNK_BYTES = 16 * 1024;
/** How long a client keeps streaming a body the server does not want. */
const STREAM_MS = 1_500;

interface Served {
  port: number;
  // Transactions the stub gateway was handed.
  submitted: () => number;
  close: () => Promise<void>;
}

async function serve(overrides: Partial<IngestConfig> = {}): Promise<Served> {
  const config = { ...configDefaults(), body_bytes_max: 4_096, ...overrides };
  let submitted = 0;
  const accept = (): Promise<Outcome> => Promise.resolve({ ok: true, receipt: { id: `t${submitted}`, status: 'accepted', shards: [] } });
  const gateway = {
    submit: (txs: readonly unknown[]) => {
      submitted += txs.length;
      return txs.map(accept);
    },
    stats: {},
  } as unknown as Gateway;
  const validate = { limits: config, shardCount: config.shards, sha256: nodeSha256, shardOfTag: cachedShardOf(config.shards, nodeSha256) };
  const server = createIngestServer({ config, gateway, validate, healthy: () => true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    submitted: () => submitted,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Streams a chunked body for STREAM_MS; returns the status line and whether the server hung up. */
async function endlessBody(
  port: number,
  requestLine: string,
  contentType = 'application/json',
  host = 'localhost',
): Promise<{ status: string; closedByServer: boolean; sentBytes: number }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let closed = false;
  let sentBytes = 0;
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(`${requestLine}\r\nHost: ${host}\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\n\r\n`);
  const chunk = `${CHUNK_BYTES.toString(16)}\r\n${' '.repeat(CHUNK_BYTES)}\r\n`;
  const until = Date.now() + STREAM_MS;
  while (!closed && Date.now() < until) {
    if (socket.write(chunk)) sentBytes += CHUNK_BYTES;
    await new Promise((r) => setTimeout(r, 5));
  }
  socket.destroy();
  return { status: received.split('\r\n')[0] ?? '', closedByServer: closed, sentBytes };
}

test('http: a body the server will not read is answered and the connection closed, never drained without bound', async () => {
  const s = await serve();
  try {
    const cases: [line: string, status: string, contentType?: string, host?: string][] = [
      ['POST /nope HTTP/1.1', '404'],
      ['POST /healthz HTTP/1.1', '405'],
      ['POST /v1/transactions?wait=soon HTTP/1.1', '400'],
      ['POST /v1/transactions HTTP/1.1', '413'],
      ['POST /v1/transactions HTTP/1.1', '415', 'text/plain'],
      ['POST /v1/transactions/batch HTTP/1.1', '415', 'application/x-www-form-urlencoded'],
      ['GET /healthz HTTP/1.1', '200'],
      ['POST /v1/transactions HTTP/1.1', '421', 'application/json', 'evil.example'],
    ];
    for (const [line, status, contentType, host] of cases) {
      const r = await endlessBody(s.port, line, contentType, host);
      assert.ok(r.status.includes(` ${status} `), `${line}: ${r.status}`);
      assert.ok(r.closedByServer, `${line}: the server kept reading (${r.sentBytes} bytes taken)`);
    }
  } finally {
    await s.close();
  }
});

test('http: answers to requests without a body keep the connection alive', async () => {
  const s = await serve();
  try {
    const socket = connect(s.port, '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const until = Date.now() + 5_000;
    while (!received.includes('"status":"ok"') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    socket.destroy();
    assert.match(received, /^HTTP\/1\.1 404 /);
    assert.match(received, /HTTP\/1\.1 200 [\s\S]*"status":"ok"/, 'a second request on the same connection is answered');
  } finally {
    await s.close();
  }
});

interface Answer {
  status: number;
  code: string | undefined;
}

/** One POST with exactly the Content-Type given (none when undefined); node:http sets no default. */
function post(port: number, path: string, contentType: string | undefined, body: string): Promise<Answer> {
  const headers: Record<string, string | number> = { 'content-length': Buffer.byteLength(body) };
  if (contentType !== undefined) headers['content-type'] = contentType;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers, timeout: 5_000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as { error?: { code: string } }).error?.code }));
    });
    req.once('timeout', () => req.destroy(new Error('no answer in 5 s')));
    req.once('error', reject);
    req.end(body);
  });
}

const oneTx = JSON.stringify({ records: [{ key: 'k', value: 1 }] });
const batchOfTwo = JSON.stringify({ transactions: [{ records: [{ key: 'a', value: 1 }] }, { records: [{ key: 'b', value: 2 }] }] });

test('http: a write whose body does not say it is JSON is refused 415 and never reaches the gateway', async () => {
  const s = await serve();
  try {
    const refused = [
      undefined,
      '',
      // What a browser sends cross-site without a preflight: a fetch of a string, and the form encodings.
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=iso-8859-1',
      'application/json; charset=utf-16',
      'application/json; charset=utf8',
      'application/json; foo=bar',
      'application/json; charset',
      'application/jsonp',
      'application/json-seq',
      'text/json',
      'application/json, text/plain',
    ];
    for (const type of refused) {
      for (const [path, body] of [['/v1/transactions', oneTx], ['/v1/transactions/batch', batchOfTwo]] as const) {
        const a = await post(s.port, path, type, body);
        assert.deepEqual(a, { status: 415, code: 'unsupported_media_type' }, `${path} with ${String(type)}`);
      }
    }
    assert.equal(s.submitted(), 0, 'a refused body reached the gateway');
    const accepted = ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'application/json; charset="utf-8"', 'APPLICATION/JSON ;\tCHARSET=Utf-8 ;'];
    for (const type of accepted) {
      assert.equal((await post(s.port, '/v1/transactions', type, oneTx)).status, 200, type);
      assert.equal((await post(s.port, '/v1/transactions/batch', type, batchOfTwo)).status, 200, type);
    }
    assert.equal(s.submitted(), accepted.length * 3);
  } finally {
    await s.close();
  }
});

// Reference for the media-type check, written independently: the RFC 9110 grammar narrowed to what
// the gateway takes (application/json, optional empty parameters and charset=utf-8, OWS = SP / HTAB).
const jsonMediaTypeRef = /^[ \t]*application\/json[ \t]*(;[ \t]*(charset=(utf-8|"utf-8"))?[ \t]*)*$/i;

test('http: the media-type check agrees with the reference grammar', () => {
  const piece = fc.constantFrom('application', 'Application', '/', 'json', 'JSON', 'jsonp', 'text', 'plain', ';', ' ', '\t', ',', 'charset', 'Charset', '=', '"', 'utf-8', 'UTF-8', 'utf8', 'latin1', 'x');
  const param = fc.constantFrom('', ' ', '\t', 'charset=', 'CHARSET=', 'charset =', 'foo=', 'utf-8', 'Utf-8', '"utf-8"', '"utf-8', 'utf-16', 'latin1', '"', '=', ' ;');
  const header = fc.oneof(
    fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
    fc.array(fc.array(param, { maxLength: 3 }), { maxLength: 3 }).map((ps) => `application/json${ps.map((p) => `;${p.join('')}`).join('')}`),
    fc.string({ maxLength: 40 }),
  );
  fc.assert(
    fc.property(header, (h) => {
      assert.equal(isJsonMediaType(h), jsonMediaTypeRef.test(h), JSON.stringify(h));
    }),
    { numRuns: 5_000 },
  );
  assert.equal(isJsonMediaType(undefined), false);
});

test('http: the OpenAPI document names the 415 of both write routes', async () => {
  const s = await serve();
  try {
    const res = await fetch(`http://127.0.0.1:${s.port}/openapi.json`);
    const doc = (await res.json()) as { paths: Record<string, { post?: { responses: Record<string, unknown> } }> };
    for (const path of ['/v1/transactions', '/v1/transactions/batch']) assert.ok(doc.paths[path]?.post?.responses['415'], path);
  } finally {
    await s.close();
  }
});

test('http: past connections_max a new connection is closed unanswered and counted; a freed slot is taken again', async () => {
  const s = await serve({ connections_max: 2 });
  try {
    await assertConnectionsBoundOfTwo(s.port);
  } finally {
    await s.close();
  }
});

test('config: connections_max has a default and is checked at start', () => {
  assert.equal(configDefaults().connections_max, 1_000);
  assert.equal(loadConfig({ CAIRN_CONNECTIONS_MAX: '64' }, []).connections_max, 64);
  assert.equal(loadConfig({}, ['--connections-max=8']).connections_max, 8);
  assert.throws(() => loadConfig({}, ['--connections-max=0']), /connections_max/);
  assert.throws(() => loadConfig({ CAIRN_CONNECTIONS_MAX: '1.5' }, []), /connections_max/);
});

test('http: a CORS preflight for a JSON write is not granted', async () => {
  const s = await serve();
  try {
    const res = await fetch(`http://127.0.0.1:${s.port}/v1/transactions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('access-control-allow-headers'), null);
    assert.equal(s.submitted(), 0);
  } finally {
    await s.close();
  }
});

/**
 * A request written on a raw socket: `head` lines as given, then the body as the given pieces, each
 * its own write a few ms apart; the status and error code of the answer.
 */
async function rawRequest(port: number, head: readonly string[], pieces: readonly (string | Buffer)[]): Promise<Answer> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const length = pieces.reduce((n, p) => n + Buffer.byteLength(p), 0);
  socket.write(`${[...head, `Content-Length: ${length}`, 'Connection: close'].join('\r\n')}\r\n\r\n`);
  for (const piece of pieces) {
    // Several pieces: each after a pause, so that the server reads the body in separate chunks.
    if (pieces.length > 1) await new Promise((r) => setTimeout(r, 20));
    socket.write(piece);
  }
  const timer = setTimeout(() => socket.destroy(), 5_000);
  await closed;
  clearTimeout(timer);
  const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(received)?.[1] ?? 0);
  const body = received.slice(received.indexOf('\r\n\r\n') + 4);
  return { status, code: status === 200 ? undefined : (JSON.parse(body) as { error: { code: string } }).error.code };
}

/** One raw POST of a valid transaction with exactly the Host lines given; the status and error code. */
function postWithHost(port: number, hostLines: readonly string[], version = '1.1', method = 'POST /v1/transactions'): Promise<Answer> {
  return rawRequest(port, [`${method} HTTP/${version}`, ...hostLines.map((h) => `Host: ${h}`), 'Content-Type: application/json'], [oneTx]);
}

test('http: a Host the gateway was not configured for is refused 421 host_not_allowed on every route, before the gateway sees it', async () => {
  const s = await serve({ allowed_hosts: 'ledger.example.com, [2001:db8::7]' });
  try {
    const allowed = [
      `127.0.0.1:${s.port}`, '127.0.0.1', 'localhost', 'localhost:8080', 'LOCALHOST:8080', 'LocalHost', 'localhost.', 'localhost:',
      '[::1]:8080', '[::1]', '[0:0:0:0:0:0:0:1]:80', 'ledger.example.com', 'Ledger.Example.COM:443', '[2001:DB8::7]:8443',
    ];
    for (const host of allowed) assert.deepEqual(await postWithHost(s.port, [host]), { status: 200, code: undefined }, host);
    const accepted = s.submitted();
    assert.equal(accepted, allowed.length);
    const refused = [
      'evil.example', 'evil.example:8080', 'EVIL.example', 'localhost.evil.example', '127.0.0.1.evil.example', 'example.com', 'ledger.example.com.evil',
      'localhost:80x', 'localhost:8080:1', 'localhost@evil.example', 'evil.example#localhost', '::1', '[::1', '[::2]:8080', '[localhost]', '[127.0.0.1]',
      ':8080', '',
    ];
    for (const host of refused) assert.deepEqual(await postWithHost(s.port, [host]), { status: 421, code: 'host_not_allowed' }, JSON.stringify(host));
    // No Host at all (HTTP/1.1 and 1.0), and two of them.
    assert.deepEqual(await postWithHost(s.port, []), { status: 421, code: 'host_not_allowed' }, 'no Host, HTTP/1.1');
    assert.deepEqual(await postWithHost(s.port, [], '1.0'), { status: 421, code: 'host_not_allowed' }, 'no Host, HTTP/1.0');
    assert.deepEqual(await postWithHost(s.port, ['evil.example', 'localhost']), { status: 421, code: 'host_not_allowed' }, 'two Hosts');
    assert.deepEqual(await postWithHost(s.port, ['localhost', 'evil.example']), { status: 421, code: 'host_not_allowed' }, 'two Hosts');
    assert.equal(s.submitted(), accepted, 'a refused request reached the gateway');
    // Every route, not only the writes.
    for (const route of ['GET /healthz', 'GET /openapi.json', 'POST /v1/transactions/batch', 'GET /nope']) {
      assert.deepEqual(await postWithHost(s.port, ['evil.example'], '1.1', route), { status: 421, code: 'host_not_allowed' }, route);
      assert.notEqual((await postWithHost(s.port, ['localhost'], '1.1', route)).status, 421, route);
    }
  } finally {
    await s.close();
  }
});

test('http: the Host parse keeps only the name, in one spelling', () => {
  const cases: [string, string | undefined][] = [
    ['localhost:8080', 'localhost'],
    ['LOCALHOST', 'localhost'],
    ['[::1]:8080', '::1'],
    ['[0:0::1]', '::1'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['a.b.example.:443', 'a.b.example'],
    ['10.0.0.7', '10.0.0.7'],
    ['::1', undefined],
    ['[::1]x', undefined],
    ['[fe80::1%25eth0]', undefined],
    ['a..b', undefined],
    ['localhost:123456', undefined],
    ['', undefined],
  ];
  for (const [header, name] of cases) assert.equal(hostOfHeader(header), name, header);
});

test('config: allowed_hosts adds to the loopback names and the listen address; a bad entry stops the start', () => {
  assert.equal(configDefaults().allowed_hosts, '');
  assert.deepEqual([...allowedHosts(configDefaults())].sort(), ['127.0.0.1', '::1', 'localhost']);
  assert.deepEqual([...allowedHosts({ host: '10.1.2.3', allowed_hosts: '' })].sort(), ['10.1.2.3', '127.0.0.1', '::1', 'localhost']);
  const c = loadConfig({ CAIRN_INGEST_ALLOWED_HOSTS: 'Ledger.example.com,ingest.internal' }, []);
  assert.ok(allowedHosts(c).has('ledger.example.com') && allowedHosts(c).has('ingest.internal'));
  assert.ok(allowedHosts(loadConfig({}, ['--allowed-hosts', '[2001:db8::1]'])).has('2001:db8::1'));
  assert.ok(allowedHosts(loadConfig({}, ['--host=::', '--auth=none'])).has('::'));
  for (const bad of ['evil example', 'a..b', '[nope]', 'http://x', 'a/b', Array.from({ length: 257 }, (_, i) => `h${i}`).join(',')]) {
    assert.throws(() => loadConfig({}, [`--allowed-hosts=${bad}`]), /allowed_hosts/, bad.slice(0, 40));
  }
});

test('http: the OpenAPI document names the 421 of every route', async () => {
  const s = await serve();
  try {
    const doc = (await (await fetch(`http://127.0.0.1:${s.port}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) assert.ok(op.responses['421'], `${method} ${path}`);
    }
  } finally {
    await s.close();
  }
});

// soleHeader replaced req.headersDistinct['host'] on the request path: held equal to Node's own
// reading of the same raw headers (one value, or none/several).
test('soleHeader: the sole Host value exactly when headersDistinct has one, for any raw headers', () => {
  const name = fc.constantFrom('host', 'Host', 'HOST', 'hOsT', 'hosts', 'x-host', 'content-type', 'Accept', 'ho', 'h0st');
  const value = fc.constantFrom('localhost', 'evil.example', '', '[::1]:80', 'a b', 'localhost, evil.example');
  fc.assert(
    fc.property(fc.array(fc.tuple(name, value), { maxLength: 8 }), (pairs) => {
      const raw = pairs.flat();
      // How Node's HTTP parser hands a request its headers (an internal, hence the cast).
      const msg = new IncomingMessage(new Socket()) as IncomingMessage & { _addHeaderLines(h: string[], n: number): void };
      msg._addHeaderLines(raw, raw.length);
      const all = msg.headersDistinct['host'];
      const expected = all !== undefined && all.length === 1 ? all[0] : undefined;
      assert.equal(soleHeader(raw, 'host'), expected);
    }),
    { numRuns: 500 },
  );
});

// nodeSha256 (one-shot crypto.hash) computes content hashes and shards: byte-identical to the
// reference implementation in @cairn/wire, whatever the input length.
test('nodeSha256 equals @cairn/wire defaultSha256 on any bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      assert.deepEqual(Buffer.from(nodeSha256(bytes)), Buffer.from(defaultSha256(bytes)));
    }),
    { numRuns: 300 },
  );
  const big = new Uint8Array(70_000).map((_, i) => i % 251);
  assert.deepEqual(Buffer.from(nodeSha256(big.subarray(3))), Buffer.from(defaultSha256(big.subarray(3))));
});

/** A POST whose body goes out as the given byte pieces, each its own write, a few ms apart. */
function postPieces(port: number, pieces: readonly Buffer[]): Promise<Answer> {
  return rawRequest(port, ['POST /v1/transactions HTTP/1.1', 'Host: localhost', 'Content-Type: application/json'], pieces);
}

// readJson decodes a one-chunk body in place and joins several first: both must read the same
// UTF-8, including a character split across chunks, and refuse the same bad bytes.
test('http: a body is read the same in one chunk or several, even split inside a UTF-8 character', async () => {
  const s = await serve();
  try {
    const body = Buffer.from(JSON.stringify({ records: [{ key: 'caf\u00e9', value: '\u20ac' }] }));
    const cut = body.indexOf(0xc3) + 1; // between the two bytes of "é"
    assert.deepEqual(await postPieces(s.port, [body]), { status: 200, code: undefined }, 'one piece');
    assert.deepEqual(await postPieces(s.port, [body.subarray(0, cut), body.subarray(cut)]), { status: 200, code: undefined }, 'split in a character');
    assert.equal(s.submitted(), 2);
    const bad = Buffer.concat([body.subarray(0, cut - 1), Buffer.from([0xff]), body.subarray(cut)]);
    assert.deepEqual(await postPieces(s.port, [bad]), { status: 400, code: 'malformed_json' }, 'bad byte, one piece');
    assert.deepEqual(await postPieces(s.port, [bad.subarray(0, cut), bad.subarray(cut)]), { status: 400, code: 'malformed_json' }, 'bad byte, two pieces');
    assert.equal(s.submitted(), 2);
  } finally {
    await s.close();
  }
});
