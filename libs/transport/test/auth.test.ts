import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selfSignedCert, startNatsServer, tempDir } from '@cairn/testkit';
import { connectTransport, isTransportError, streamLayout, TransportErrorCode } from '../src/index.js';
import { LIMIT } from './helpers.js';

test('a broker that asks for a token: connected with it, refused without or with another, and told why', LIMIT, async () => {
  const token = 'broker-token-0123456789abcdef';
  const server = await startNatsServer({ token });
  try {
    const layout = streamLayout({ shard_count: 2 });
    const ok = await connectTransport({ servers: server.url, layout, token, reconnect_attempts_max: 0 });
    try {
      assert.equal((await ok.ensureStream()).config.name, layout.stream);
    } finally {
      await ok.close();
    }
    for (const wrong of [undefined, 'another-token-0123456789abcdef']) {
      await assert.rejects(
        connectTransport({ servers: server.url, layout, reconnect_attempts_max: 0, connect_timeout_ms: 5_000, ...(wrong === undefined ? {} : { token: wrong }) }),
        (err: unknown) => isTransportError(err, TransportErrorCode.CONNECT) && /refused the credentials/.test((err as Error).message),
        `token ${String(wrong)}`,
      );
    }
  } finally {
    await server.stop();
  }
});

test('a broker that takes clients over TLS: connected with its CA, refused without it', LIMIT, async () => {
  const dir = tempDir('transport-tls');
  const cert = selfSignedCert(dir.path);
  const server = await startNatsServer({ tls: cert });
  try {
    const layout = streamLayout({ shard_count: 2 });
    const ok = await connectTransport({ servers: server.url, layout, tls_ca: cert.cert, reconnect_attempts_max: 0 });
    try {
      assert.equal((await ok.ensureStream()).config.name, layout.stream);
    } finally {
      await ok.close();
    }
    await assert.rejects(
      connectTransport({ servers: server.url, layout, reconnect_attempts_max: 0, connect_timeout_ms: 5_000 }),
      (err: unknown) => isTransportError(err, TransportErrorCode.CONNECT),
    );
  } finally {
    await server.stop();
    dir.remove();
  }
});
