// The bound on open HTTP connections (connections_max): past it a new socket is closed unanswered
// and counted in /healthz; a freed slot is taken again. Scripted answers, no broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type AddressInfo } from 'node:net';
import { assertConnectionsBoundOfTwo, connectLoopback, healthzOn } from '@cairn/testkit';
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

test('http: past connections_max a new connection is closed unanswered and counted; a freed slot is taken again', async () => {
  const s = await serve(2);
  try {
    await assertConnectionsBoundOfTwo(s.port);
  } finally {
    await s.close();
  }
});

test('http: connections_max defaults to CONNECTIONS_MAX_DEFAULT and must be a positive integer', async () => {
  assert.equal(CONNECTIONS_MAX_DEFAULT, 1_000);
  const s = await serve();
  try {
    const socket = await connectLoopback(s.port);
    const body = JSON.parse((await healthzOn(socket)).split('\r\n\r\n')[1] ?? '') as { connections_dropped: number };
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
