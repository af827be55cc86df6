import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';

// Raw-socket checks of an HTTP server's bound on open connections (connections_max), shared by the
// ingest and proof services, whose bounds are the same mechanism (@cairn/config boundConnections).

/** Connects to 127.0.0.1:port; resolves once connected. */
export async function connectLoopback(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  return socket;
}

/** Milliseconds a /healthz answer may take before the socket is read as unanswered. */
const HEALTHZ_WAIT_MS_MAX = 5_000;

/** GET /healthz on a kept-alive socket: the whole answer, or what came before the server closed it ('' if nothing). */
export function healthzOn(socket: Socket): Promise<string> {
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
    const timer = setTimeout(done, HEALTHZ_WAIT_MS_MAX);
    socket.on('data', onData);
    socket.once('close', done);
    if (!socket.destroyed) socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  });
}

/**
 * For a server on `port` with connections_max 2: two connections are answered, a third is closed
 * unanswered and counted as connections_dropped in /healthz, and once one of the two closes a new
 * connection is answered again (retried, bounded: the server counts a connection until its side
 * of the socket has closed).
 */
export async function assertConnectionsBoundOfTwo(port: number): Promise<void> {
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      sockets.push(await connectLoopback(port));
      assert.match(await healthzOn(sockets[i] as Socket), /^HTTP\/1\.1 200 /);
    }
    const third = await connectLoopback(port);
    sockets.push(third);
    assert.equal(await healthzOn(third), '', 'a connection past the bound was answered');
    assert.ok(third.destroyed || third.readableEnded, 'the server did not close it');
    const figures = JSON.parse((await healthzOn(sockets[0] as Socket)).split('\r\n\r\n')[1] ?? '') as { connections_dropped: number };
    assert.equal(figures.connections_dropped, 1);
    (sockets[1] as Socket).destroy();
    let answer = '';
    for (let i = 0; i < 50 && !answer.startsWith('HTTP/1.1 200 '); i++) {
      await new Promise((r) => setTimeout(r, 20));
      const next = await connectLoopback(port);
      sockets.push(next);
      answer = await healthzOn(next);
    }
    assert.match(answer, /^HTTP\/1\.1 200 /, 'the freed slot was not given to a new connection');
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}
