// The bound on open HTTP connections (connections_max): past it a new socket is closed unanswered
// and counted in /healthz; a freed slot is taken again. Scripted answers, no broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { configDefaults, createProofServer, loadConfig, type Answers, type SignedHead } from '../src/index.js';
import { CONNECTIONS_MAX_DEFAULT } from '../src/http.js';

const head: SignedHead = { size: 1, root: new Uint8Array(32), note: 'note\n' };

async function serve(connections_max?: number): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createProofServer({
    origin: 'o',
    requests_inflight_max: 8,
    retry_after_s: 1,
    answers: {} as Answers,
    signed: () => head,
    health: () => ({ ok: true, detail: {} }),
    ...(connections_max === undefined ? {} : { connections_max }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  return socket;
}

/** GET /healthz on a kept-alive socket: the whole answer, or what came before the server closed it ('' if nothing). */
function health(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    const done = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', done);
      resolve(received);
    };
    const onData = (d: Buffer): void => {
      received += d.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(received)?.[1];
      if (end >= 0 && length !== undefined && received.length >= end + 4 + Number(length)) done();
    };
    const timer = setTimeout(done, 5_000);
    socket.on('data', onData);
    socket.once('close', done);
    if (!socket.destroyed) socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  });
}

test('http: past connections_max a new connection is closed unanswered and counted; a freed slot is taken again', async () => {
  const s = await serve(2);
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      sockets.push(await open(s.port));
      assert.match(await health(sockets[i] as Socket), /^HTTP\/1\.1 200 /);
    }
    const third = await open(s.port);
    sockets.push(third);
    assert.equal(await health(third), '', 'a connection past the bound was answered');
    assert.ok(third.destroyed || third.readableEnded, 'the server did not close it');
    const figures = JSON.parse((await health(sockets[0] as Socket)).split('\r\n\r\n')[1] ?? '') as { connections_dropped: number };
    assert.equal(figures.connections_dropped, 1);
    // The server counts a connection until its side of the socket has closed: retry, bounded.
    (sockets[1] as Socket).destroy();
    let answer = '';
    for (let i = 0; i < 50 && !answer.startsWith('HTTP/1.1 200 '); i++) {
      await new Promise((r) => setTimeout(r, 20));
      const next = await open(s.port);
      sockets.push(next);
      answer = await health(next);
    }
    assert.match(answer, /^HTTP\/1\.1 200 /, 'the freed slot was not given to a new connection');
  } finally {
    for (const socket of sockets) socket.destroy();
    await s.close();
  }
});

test('http: connections_max defaults to CONNECTIONS_MAX_DEFAULT and must be a positive integer', async () => {
  assert.equal(CONNECTIONS_MAX_DEFAULT, 1_000);
  const s = await serve();
  try {
    const socket = await open(s.port);
    const body = JSON.parse((await health(socket)).split('\r\n\r\n')[1] ?? '') as { connections_dropped: number };
    assert.equal(body.connections_dropped, 0);
    socket.destroy();
  } finally {
    await s.close();
  }
  const o = { origin: 'o', requests_inflight_max: 1, retry_after_s: 1, answers: {} as Answers, signed: () => head, health: () => ({ ok: true, detail: {} }) };
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => createProofServer({ ...o, connections_max: bad }), RangeError, String(bad));
});

test('config: connections_max has a default and is range-checked at start', () => {
  const key = { signer_key_file: 'k' };
  assert.equal(configDefaults().connections_max, CONNECTIONS_MAX_DEFAULT);
  assert.equal(loadConfig({ CAIRN_CONNECTIONS_MAX: '64' }, [], key).connections_max, 64);
  assert.equal(loadConfig({}, ['--connections-max=8'], key).connections_max, 8);
  assert.throws(() => loadConfig({}, ['--connections-max=0'], key), /connections_max/);
  assert.throws(() => loadConfig({}, ['--connections-max=1000001'], key), /connections_max/);
  assert.throws(() => loadConfig({ CAIRN_CONNECTIONS_MAX: '1.5' }, [], key), /connections_max/);
});
