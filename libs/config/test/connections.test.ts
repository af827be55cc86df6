import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { boundConnections } from '../src/index.js';

function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  return once(socket, 'connect').then(() => socket);
}

test('boundConnections closes sockets past the bound at once and frees a slot when one closes', async () => {
  const server = createServer(() => undefined);
  let dropped = 0;
  boundConnections(server, 1, () => {
    dropped += 1;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  try {
    const first = await open(port);
    const second = await open(port);
    await once(second, 'close');
    assert.equal(dropped, 1);
    first.destroy();
    await once(first, 'close');
    // The server sees the close a moment later: retry a bounded number of times.
    let third: Socket | undefined;
    for (let attempt = 0; attempt < 50 && third === undefined; attempt += 1) {
      const socket = await open(port);
      const closed = await Promise.race([once(socket, 'close').then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 50))]);
      if (closed) continue;
      third = socket;
    }
    assert.ok(third !== undefined, 'a freed slot takes a new connection');
    third.destroy();
  } finally {
    server.close();
  }
});

test('boundConnections refuses a bound below 1', () => {
  assert.throws(() => boundConnections(createServer(), 0, () => undefined), RangeError);
});
