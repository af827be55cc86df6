// The HTTP layer alone, with a stub gateway (no broker): what happens to request bodies the
// gateway never reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { cachedShardOf, configDefaults, createIngestServer, nodeSha256, type Gateway } from '../src/index.js';

const CHUNK_BYTES = 16 * 1024;
/** How long a client keeps streaming a body the server does not want. */
const STREAM_MS = 1_500;

async function serve(): Promise<{ port: number; close: () => Promise<void> }> {
  const config = { ...configDefaults(), body_bytes_max: 4_096 };
  const gateway = { submit: () => [], stats: {} } as unknown as Gateway;
  const validate = { limits: config, shardCount: config.shards, sha256: nodeSha256, shardOfTag: cachedShardOf(config.shards, nodeSha256) };
  const server = createIngestServer({ config, gateway, validate, healthy: () => true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Streams a chunked body for STREAM_MS; returns the status line and whether the server hung up. */
async function endlessBody(port: number, requestLine: string): Promise<{ status: string; closedByServer: boolean; sentBytes: number }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let closed = false;
  let sentBytes = 0;
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(`${requestLine}\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
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
    for (const [line, status] of [
      ['POST /nope HTTP/1.1', '404'],
      ['POST /healthz HTTP/1.1', '405'],
      ['POST /v1/transactions?wait=soon HTTP/1.1', '400'],
      ['POST /v1/transactions HTTP/1.1', '413'],
      ['GET /healthz HTTP/1.1', '200'],
    ] as const) {
      const r = await endlessBody(s.port, line);
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
    socket.write('GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const until = Date.now() + 5_000;
    while (!received.includes('"status":"ok"') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    socket.destroy();
    assert.match(received, /^HTTP\/1\.1 404 /);
    assert.match(received, /HTTP\/1\.1 200 [\s\S]*"status":"ok"/, 'a second request on the same connection is answered');
  } finally {
    await s.close();
  }
});
