// ShardWorker.done on a real nats-server and a real store whose disk fails: a write that fails
// after the handler call that issued it resolved stops the worker. No handler call is left to throw
// it (nothing else is published), so only the apply loop's `failure`, raced into `done`, can tell
// the process to exit. Without it the shard would ack, then sit with a closed store and serve
// nothing while its supervisor saw it alive.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Store, type Kv } from '@cairn/storage';
import { startNatsServer, tempDir, until, type NatsServer } from '@cairn/testkit';
import { connectTransport, shardSubject, streamLayout, type Transport } from '@cairn/transport';
import { encodeShardMessage } from '@cairn/wire';
import { loadConfig, startShard, type ShardWorker } from '../src/index.js';
import { part } from './pipeline-fixture.js';

const DONE_WAIT_MS_MAX = 5_000;
const APPLIED_WAIT_MS_MAX = 10_000;

let nats: NatsServer | undefined;
let publisher: Transport | undefined;
let worker: ShardWorker | undefined;
const dir = tempDir('worker-failure');

after(async () => {
  await worker?.stop().catch(() => undefined);
  await publisher?.close().catch(() => undefined);
  await nats?.stop();
  dir.remove();
});

/** The errors in `error`'s cause chain (bounded: a cause chain is short). */
function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error, i = 0; e !== undefined && i < 8; e = e instanceof Error ? e.cause : undefined, i += 1) out.push(e);
  return out;
}

test('done rejects when an append fails after the apply() call that issued it resolved', async () => {
  nats = await startNatsServer();
  const diskError = new Error('disk failed (test)');
  // Armed after the first message is in: then the next write fails, but only once the handler
  // call that issued it has returned, so no running apply() can be the one that reports it.
  let armed = false;
  let releaseWrite: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    releaseWrite = resolve;
  });
  let failedWrites = 0;
  const wrapKv = (kv: Kv): Kv => ({
    ...kv,
    binding: kv.binding,
    orderedWrites: kv.orderedWrites,
    write: async (batch, options) => {
      if (!armed) return kv.write(batch, options);
      await released;
      failedWrites += 1;
      throw diskError;
    },
  });
  const config = loadConfig({}, [], { shard: 0, shards: 1, nats_url: nats.url, data_dir: dir.path, appends_inflight_max: 2 });
  worker = await startShard(config, () => undefined, (options) => Store.open({ ...options, pool: false }, wrapKv));
  const w = worker;
  const returned: number[] = [];
  const apply = w.applier.apply.bind(w.applier);
  w.applier.apply = async (msgs) => {
    await apply(msgs);
    returned.push(...msgs.map((m) => m.seq));
    if (armed) releaseWrite();
  };

  const layout = streamLayout({ shard_count: 1 });
  publisher = await connectTransport({ servers: nats.url, layout, name: 'cairn-test-worker' });
  const subject = shardSubject(layout, 0);
  const first = await publisher.publish({ subject, data: encodeShardMessage({ shard: 0, txs: [part('w-1', '{a}:1', 'v1')] }) });
  await until('the first message applied', APPLIED_WAIT_MS_MAX, async () => (w.applier.applied >= first.seq ? true : undefined));

  armed = true;
  const second = await publisher.publish({ subject, data: encodeShardMessage({ shard: 0, txs: [part('w-2', '{a}:1', 'v2')] }) });
  const timer = new AbortController();
  const outcome = await Promise.race([
    w.done.then(
      () => ({ kind: 'resolved' as const }),
      (error: unknown) => ({ kind: 'rejected' as const, error }),
    ),
    sleep(DONE_WAIT_MS_MAX, undefined, { signal: timer.signal }).then(
      () => ({ kind: 'pending' as const }),
      () => ({ kind: 'pending' as const }),
    ),
  ]);
  timer.abort();

  assert.ok(returned.includes(second.seq), `the apply() call for seq ${second.seq} returned (returned: ${returned.join(',')})`);
  assert.equal(failedWrites, 1, 'exactly the armed write failed');
  assert.equal(outcome.kind, 'rejected', `done is ${outcome.kind} ${DONE_WAIT_MS_MAX} ms after the write failed`);
  if (outcome.kind === 'rejected') assert.ok(causes(outcome.error).includes(diskError), `done rejected with ${String(outcome.error)}`);
  assert.equal(w.applier.applied, first.seq, 'nothing past the failed write counts as applied');
});
