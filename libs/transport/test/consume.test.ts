import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIMIT } from './helpers.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer } from '@cairn/testkit';
import {
  TransportErrorCode,
  connectTransport,
  isTransportError,
  shardSubject,
  streamLayout,
  type ConsumedMessage,
  type OutboundMessage,
  type Transport,
} from '../src/index.js';
import { dec, enc, eventually, rig } from './helpers.js';

async function fill(t: Transport, plan: readonly number[]): Promise<void> {
  // plan[i] = shard of the i-th message; data names its position so order can be checked.
  for (const [i, shard] of plan.entries()) {
    await t.publish({ subject: shardSubject(t.layout, shard), data: enc(`m${i}`) });
  }
}

/** Publishes while the client reconnects and JetStream recovers; the msg id makes a retry harmless. */
async function publishWhenBack(t: Transport, msg: OutboundMessage): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await t.publish(msg);
      return;
    } catch (err) {
      const transient = isTransportError(err, TransportErrorCode.NO_RESPONDERS) || isTransportError(err, TransportErrorCode.TIMEOUT);
      if (!transient || attempt >= 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function ackFloor(t: Transport, durable: string): Promise<number> {
  const jsm = await jetstreamManager(t.nc);
  return (await jsm.consumers.info(t.layout.stream, durable)).ack_floor.stream_seq;
}

test('delivers one shard, in stream order, in bounded batches, acking after the handler', LIMIT, async () => {
  const r = await rig(2);
  try {
    const plan = [0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0];
    await fill(r.transport, plan);
    const want = plan.flatMap((shard, i) => (shard === 0 ? [i + 1] : []));
    const batches: number[][] = [];
    const consumer = await r.transport.consume({ shard: 0, durable: 'shard-0', batch_msgs_max: 3 }, async (msgs) => {
      batches.push(msgs.map((m) => m.seq));
      for (const m of msgs) assert.equal(m.subject, shardSubject(r.layout, 0));
    });
    await eventually(() => batches.flat().length >= want.length, 5_000, 'all shard-0 messages');
    await consumer.stop();
    await consumer.done;
    assert.deepEqual(batches.flat(), want);
    assert.ok(batches.every((b) => b.length >= 1 && b.length <= 3));
    assert.equal(consumer.nextSeq(), (want.at(-1) ?? 0) + 1);
    assert.equal(await ackFloor(r.transport, 'shard-0'), want.at(-1));
  } finally {
    await r.close();
  }
});

test('a consumer killed -9 mid-batch gets exactly the unacked messages again, at once and in order', LIMIT, async () => {
  const r = await rig(1);
  try {
    await fill(r.transport, Array.from({ length: 10 }, () => 0));
    const child = spawn(process.execPath, [
      fileURLToPath(new URL('./fixtures/consumer-child.js', import.meta.url)),
      r.server.url,
      '1',
      'shard-0',
      '2',
    ]);
    const lines = createInterface({ input: child.stdout });
    const handled: number[] = [];
    let hung: number[] = [];
    const hangSeen = new Promise<void>((resolve) => {
      lines.on('line', (line) => {
        const event = JSON.parse(line) as { handled?: number[]; hang?: number[] };
        if (event.handled !== undefined) handled.push(...event.handled);
        if (event.hang !== undefined) {
          hung = event.hang;
          resolve();
        }
      });
    });
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await hangSeen;
    clearTimeout(killTimer);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    assert.deepEqual(handled, [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(hung, [7, 8, 9]);

    // The default ack wait is 30 s: getting the batch back within 5 s shows the restart re-delivers at once.
    const seen: number[] = [];
    const started = Date.now();
    const consumer = await r.transport.consume({ shard: 0, durable: 'shard-0', batch_msgs_max: 3 }, async (msgs) => {
      seen.push(...msgs.map((m) => m.seq));
    });
    await eventually(() => seen.length >= 4, 5_000, 'redelivery after the crash');
    await consumer.stop();
    assert.deepEqual(seen, [7, 8, 9, 10]);
    assert.ok(Date.now() - started < 5_000);
  } finally {
    await r.close();
  }
});

test('a failing handler stops the consumer unacked; the next run gets the same batch', LIMIT, async () => {
  const r = await rig(1);
  try {
    await fill(r.transport, [0, 0, 0, 0]);
    const failing = await r.transport.consume({ shard: 0, durable: 'd', batch_msgs_max: 2 }, async (msgs) => {
      if (msgs[0]?.seq === 3) throw new Error('disk full');
    });
    await assert.rejects(failing.done, (err: unknown) => {
      assert.ok(isTransportError(err, TransportErrorCode.HANDLER_FAILED));
      assert.equal((err.cause as Error).message, 'disk full');
      return true;
    });
    await failing.stop();
    assert.equal(await ackFloor(r.transport, 'd'), 2);
    const seen: ConsumedMessage[] = [];
    const again = await r.transport.consume({ shard: 0, durable: 'd', batch_msgs_max: 2 }, async (msgs) => {
      seen.push(...msgs);
    });
    await eventually(() => seen.length >= 2, 5_000, 'the failed batch again');
    await again.stop();
    assert.deepEqual(seen.map((m) => [m.seq, dec(m.data)]), [
      [3, 'm2'],
      [4, 'm3'],
    ]);
  } finally {
    await r.close();
  }
});

test('stop() lets a running handler finish and acks what it handled', LIMIT, async () => {
  const r = await rig(1);
  try {
    await fill(r.transport, [0, 0, 0]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    const consumer = await r.transport.consume({ shard: 0, durable: 'd', batch_msgs_max: 10 }, async () => {
      entered = true;
      await gate;
    });
    await eventually(() => entered, 5_000, 'the handler to start');
    const stopping = consumer.stop();
    setTimeout(release, 50);
    await stopping;
    await consumer.done;
    assert.equal(await ackFloor(r.transport, 'd'), 3);
  } finally {
    await r.close();
  }
});

test('start_seq resumes from a given point; a nats-server kill -9 and restart loses nothing acknowledged', LIMIT, async () => {
  const server = await startNatsServer();
  const layout = streamLayout({ shard_count: 2 });
  try {
    const publisher = await connectTransport({ servers: server.url, layout });
    await publisher.ensureStream();
    await fill(publisher, [0, 1, 0, 1, 0, 1, 0, 1]); // shard 0 has seqs 1,3,5,7
    await publisher.publishAtomic([
      { subject: shardSubject(layout, 0), data: enc('m8') },
      { subject: shardSubject(layout, 1), data: enc('m9') },
    ]); // seqs 9, 10
    await publisher.close();
    await server.kill();
    await server.restart();

    // A request sent while the client reconnects can lose its reply: a short timeout and the msg id retry it.
    const t = await connectTransport({ servers: server.url, layout, publish_timeout_ms: 1_000 });
    await t.ensureStream();
    const seen: number[] = [];
    const consumer = await t.consume({ shard: 0, durable: 'd', start_seq: 4 }, async (msgs) => {
      seen.push(...msgs.map((m) => m.seq));
    });
    await eventually(() => seen.length >= 3, 5_000, 'resumed delivery');
    assert.deepEqual(seen, [5, 7, 9]);

    // The server dies under a live consumer; after restart the consumer carries on, in order, no repeats.
    await server.kill();
    await server.restart();
    await publishWhenBack(t, { subject: shardSubject(layout, 0), data: enc('m10'), msgId: 'm10' }); // seq 11
    await publishWhenBack(t, { subject: shardSubject(layout, 1), data: enc('m11'), msgId: 'm11' });
    await publishWhenBack(t, { subject: shardSubject(layout, 0), data: enc('m12'), msgId: 'm12' }); // seq 13
    await eventually(() => seen.length >= 5, 15_000, 'delivery after the server restart');
    await consumer.stop();
    assert.deepEqual(seen, [5, 7, 9, 11, 13]);
    await t.close();
  } finally {
    await server.stop();
  }
});

test('close() stops consumers cleanly; a connection lost for good ends a consumer with CLOSED', LIMIT, async () => {
  const server = await startNatsServer();
  const layout = streamLayout({ shard_count: 1 });
  try {
    const t = await connectTransport({ servers: server.url, layout });
    await t.ensureStream();
    const quiet = await t.consume({ shard: 0, durable: 'a' }, async () => undefined);
    await t.close();
    await quiet.done;

    const fragile = await connectTransport({ servers: server.url, layout, reconnect_attempts_max: 0 });
    const consumer = await fragile.consume({ shard: 0, durable: 'b' }, async () => undefined);
    await server.kill();
    await assert.rejects(consumer.done, (err: unknown) => isTransportError(err, TransportErrorCode.CLOSED));
    await fragile.close();
  } finally {
    await server.stop();
  }
});

test('bad consume options and a durable reused for another shard are CONFIG errors', LIMIT, async () => {
  const r = await rig(2);
  try {
    const bad = [
      { shard: 0, durable: 'd', batch_msgs_max: 0 },
      { shard: 0, durable: 'd', ack_wait_ms: 10 },
      { shard: 0, durable: 'd', batch_msgs_max: 100, ack_pending_max: 10 },
      { shard: 0, durable: 'has.dot' },
      { shard: 0, durable: 'd', start_seq: 0 },
    ];
    for (const opts of bad) {
      await assert.rejects(r.transport.consume(opts, async () => undefined), (err: unknown) => isTransportError(err, TransportErrorCode.CONFIG), JSON.stringify(opts));
    }
    await assert.rejects(r.transport.consume({ shard: 2, durable: 'd' }, async () => undefined), (err: unknown) =>
      isTransportError(err, TransportErrorCode.BAD_INPUT),
    );
    const first = await r.transport.consume({ shard: 0, durable: 'shared' }, async () => undefined);
    await first.stop();
    await assert.rejects(r.transport.consume({ shard: 1, durable: 'shared' }, async () => undefined), (err: unknown) =>
      isTransportError(err, TransportErrorCode.CONFIG),
    );
  } finally {
    await r.close();
  }
});

test('a consumer deleted behind its back is re-created at the first unhandled sequence', LIMIT, async () => {
  const r = await rig(1);
  try {
    await fill(r.transport, [0, 0, 0]);
    const seen: number[] = [];
    const consumer = await r.transport.consume({ shard: 0, durable: 'd' }, async (msgs) => {
      seen.push(...msgs.map((m) => m.seq));
    });
    await eventually(() => seen.length === 3, 5_000, 'first messages');
    const jsm = await jetstreamManager(r.transport.nc);
    await jsm.consumers.delete(r.layout.stream, 'd');
    await fill(r.transport, [0, 0]);
    await eventually(() => seen.length === 5, 10_000, 'messages after the deletion');
    await consumer.stop();
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.ok(consumer.resets() >= 2, `resets: ${consumer.resets()}`);
  } finally {
    await r.close();
  }
});

test('a pull that nats.js stopped by itself on a live connection is re-created: the consumer does not stall', LIMIT, async () => {
  const r = await rig(1);
  try {
    await fill(r.transport, [0]);
    const seen: number[] = [];
    const consumer = await r.transport.consume({ shard: 0, durable: 'stall' }, async (msgs) => {
      seen.push(...msgs.map((m) => m.seq));
    });
    await eventually(() => seen.length === 1, 5_000, 'the first message');
    // What nats.js does on a 400 status or a subscription error, the connection still up.
    (consumer as unknown as { messages: { stop(err?: Error): void } }).messages.stop(new Error('simulated 400 Bad Request'));
    await fill(r.transport, [0, 0]);
    await eventually(() => seen.length === 3, 10_000, 'messages after the pull stopped');
    assert.deepEqual(seen, [1, 2, 3]);
    await consumer.stop();
  } finally {
    await r.close();
  }
});
