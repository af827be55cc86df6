import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNatsCluster } from '@cairn/testkit';
import { connectTransport, isTransportError, streamLayout, TransportErrorCode, type Transport } from '../src/index.js';
import { isJetStreamNotReady } from '../src/ready.js';

const notReady = (err: unknown): boolean => isTransportError(err, TransportErrorCode.JETSTREAM_NOT_READY);

test('not ready is told apart from a refusal', () => {
  assert.equal(isJetStreamNotReady(new Error('jetstream is not enabled')), true);
  assert.equal(isJetStreamNotReady(new Error('outer', { cause: Object.assign(new Error('timeout'), { name: 'TimeoutError' }) })), true);
  assert.equal(isJetStreamNotReady(new Error('stream name already in use with a different configuration')), false);
  assert.equal(isJetStreamNotReady(new Error('authorization violation')), false);
  assert.equal(isJetStreamNotReady('timeout'), false, 'only errors are classified');
});

// One node of three started alone has no JetStream metadata leader, as in a cluster whose nodes
// are still starting. A service started then waits within jetstream_ready_ms_max.
test('a broker without a JetStream quorum: connect waits for it within jetstream_ready_ms_max, else says JetStream is not ready', { timeout: 120_000 }, async () => {
  const cluster = await startNatsCluster({ nodes: 3 });
  const layout = streamLayout({ shard_count: 2, replicas: 3 });
  const [alive, down1, down2] = cluster.nodes;
  assert.ok(alive !== undefined && down1 !== undefined && down2 !== undefined);
  let transport: Transport | undefined;
  try {
    await Promise.all(cluster.nodes.map((n) => n.kill()));
    await alive.restart();
    const opts = { servers: alive.url, layout, reconnect_attempts_max: 0 };
    await assert.rejects(connectTransport({ ...opts, jetstream_ready_ms_max: 0 }), notReady, 'one attempt when the bound is 0');
    const started = Date.now();
    await assert.rejects(connectTransport({ ...opts, jetstream_ready_ms_max: 5_000 }), (err: unknown) => notReady(err) && /within 5000 ms \((\d{2,}|[2-9]) attempts/.test((err as Error).message));
    assert.ok(Date.now() - started >= 4_000, 'it waited before giving up');

    const waiting = connectTransport({ ...opts, jetstream_ready_ms_max: 60_000 });
    const settled = { done: false };
    void waiting.then(() => (settled.done = true), () => (settled.done = true));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(settled.done, false, 'still waiting while there is no quorum');
    await Promise.all([down1.restart(), down2.restart()]);
    transport = await waiting;
    assert.equal((await transport.ensureStream()).config.num_replicas, 3);
    assert.equal((await transport.ensureClaimStream()).config.num_replicas, 3);
  } finally {
    await transport?.close();
    await cluster.stop();
  }
});
