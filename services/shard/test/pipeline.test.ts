// The apply loop with appends in flight: results, boundaries, waiters and commit events still
// advance in stream order and only after the write synced; a run the store may refuse is applied
// alone; a refusal the shard did not foresee stops it rather than let a later sequence commit over
// the refused messages; fatal errors stop it even after apply() resolved; a store closed or a
// process killed mid-pipeline reopens at a whole-run boundary and redelivery completes it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { StorageError, StorageErrorCode, type AppendResult, type BatchInput, type Store } from '@cairn/storage';
import { Proc, tempDir, until } from '@cairn/testkit';
import { decodeCommitEvent, encodeShardMessage, type CommitEvent } from '@cairn/wire';
import { loadConfig, ShardError, type Applier, type InboundMessage } from '../src/index.js';
import { applyInPulls, hex, newApplier, openTestStore, part, pipelineStream } from './pipeline-fixture.js';

// Closed at the end even when a test fails, so an open RocksDB cannot keep the test process alive.
const opened: Store[] = [];
after(async () => {
  for (const store of opened) await store.close().catch(() => undefined);
});

async function open(dir: string, appendQueueMax?: number): Promise<Store> {
  const store = await openTestStore(dir, appendQueueMax);
  opened.push(store);
  return store;
}

interface Run {
  readonly events: CommitEvent[];
  readonly sizes: Map<number, number>;
  readonly root: string;
  readonly size: number;
  readonly pipelined: number;
}

/** Applies `msgs` and checks, at every commit event, that it comes in order and after its write synced. */
async function applyChecked(msgs: readonly InboundMessage[], merge: number, inflight: number, pull: number): Promise<Run> {
  const dir = tempDir('pipeline');
  const store = await open(dir.path);
  const events: CommitEvent[] = [];
  const holder: { applier?: Applier } = {};
  const applier = newApplier(store, {
    merge,
    inflight,
    publish: (bytes) => {
      const e = decodeCommitEvent(bytes);
      const last = events[events.length - 1];
      assert.ok(last === undefined || e.seq > last.seq, `event ${e.seq} after ${last?.seq}`);
      assert.ok(store.head().seq >= e.seq, `event ${e.seq} before the store synced it (head ${store.head().seq})`);
      assert.ok((holder.applier?.applied ?? 0) >= e.seq, `event ${e.seq} before applied reached it`);
      events.push(e);
    },
  });
  holder.applier = applier;
  // Waiters resolve in stream order, each once its message is in a synced write.
  const woken: number[] = [];
  const waits = msgs.map((m) =>
    applier.waitApplied(m.seq, 30_000).then(() => {
      assert.ok(store.head().seq >= m.seq, `waiter ${m.seq} woken before its write synced`);
      woken.push(m.seq);
    }),
  );
  await applyInPulls(applier, msgs, pull);
  await applier.drain();
  await Promise.all(waits);
  assert.deepEqual(woken, msgs.map((m) => m.seq));
  assert.equal(applier.applied, msgs[msgs.length - 1]?.seq);
  const sizes = new Map<number, number>();
  for (const m of msgs) sizes.set(m.seq, applier.boundaries.lastAtOrBefore(m.seq)?.size ?? -1);
  const head = store.head();
  await store.close();
  dir.remove();
  return { events, sizes, root: hex(head.root), size: head.size, pipelined: applier.stats.pipelined };
}

function strip(e: CommitEvent): unknown {
  return { seq: e.seq, txs: e.txs };
}

test('pipelined application equals one append at a time: events, boundaries, waiters and roots in order', async () => {
  const msgs = pipelineStream(120);
  const reference = await applyChecked(msgs, 1, 1, 1);
  assert.equal(reference.pipelined, 0);
  let pipelined = 0;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 40 }), async (merge, inflight, pull) => {
      const got = await applyChecked(msgs, Math.min(merge, pull), inflight, pull);
      pipelined += got.pipelined;
      assert.equal(got.root, reference.root);
      assert.equal(got.size, reference.size);
      assert.deepEqual(got.events.map(strip), reference.events.map(strip));
      assert.deepEqual(got.sizes, reference.sizes);
    }),
    { numRuns: 12 },
  );
  assert.ok(pipelined > 0, 'appends were in flight together');
});

/** A store wrapper that records how many appends were in flight when each was handed over. */
/**
 * The store, counting appends. `refuse` fails an append before the store sees it; `spoil` hands
 * the store a copy of the batch with every key emptied, which the store itself refuses as input.
 */
function countingStore(store: Store, refuse: (batch: BatchInput, call: number) => StorageError | undefined = () => undefined, spoil: (batch: BatchInput) => boolean = () => false) {
  let inflight = 0;
  let calls = 0;
  const seen: { seq: number; inflight: number }[] = [];
  const wrapped = {
    limits: store.limits,
    head: () => store.head(),
    append: (batch: BatchInput): Promise<AppendResult> => {
      seen.push({ seq: batch.seq, inflight });
      const error = refuse(batch, calls++);
      if (error !== undefined) return Promise.reject(error);
      inflight += 1;
      const given = spoil(batch) ? { seq: batch.seq, txs: batch.txs.map((t) => ({ ...t, records: t.records.map((r) => ({ ...r, key: '' })) })) } : batch;
      return store.append(given).finally(() => (inflight -= 1));
    },
  };
  return { store: wrapped as unknown as Store, seen };
}

test('a run the store would refuse waits for the appends before it, then is retried message by message', async () => {
  const msgs: InboundMessage[] = [];
  for (let i = 0; i < 12; i += 1) {
    // Message 6 carries a precondition on version 0, which the store refuses as input.
    const tx = part(`t${i}`, `{k}:${i}`, `v${i}`, i === 6 ? 0 : undefined);
    msgs.push({ seq: 10 + i, data: encodeShardMessage({ shard: 0, txs: [tx] }) });
  }
  const dir = tempDir('pipeline-refused');
  const store = await open(dir.path);
  const counting = countingStore(store);
  const events: number[] = [];
  const a = newApplier(counting.store, { merge: 3, inflight: 3, publish: (b) => events.push(decodeCommitEvent(b).seq) });
  await a.apply(msgs);
  await a.drain();
  // Runs of 3: [10..12] [13..15] [16..18] [19..21]; 16 is the refused message, its run ends at 18.
  const refusedRun = counting.seen.filter((c) => c.seq === 18);
  assert.equal(refusedRun[0]?.inflight, 0, 'the refusable run went to the store only after the appends before it synced');
  assert.deepEqual(
    counting.seen.map((c) => c.seq),
    [12, 15, 18, 16, 16, 17, 18, 21],
    'retried message by message, the refused one applied empty, then the pipeline resumes',
  );
  assert.ok(Math.max(...counting.seen.map((c) => c.inflight)) >= 1, 'appends were pipelined around it');
  assert.equal(a.stats.rejected, 1);
  assert.deepEqual(events, msgs.map((m) => m.seq).filter((s) => s !== 16));
  assert.equal(a.applied, 21);
  await store.close();
  dir.remove();
});

test('a refusal the input check did not foresee, with later runs queued behind it, is recovered in order: nothing lost, the shard goes on', async () => {
  const msgs = pipelineStream(9).filter((m) => m.seq !== 20);
  const dir = tempDir('pipeline-unforeseen');
  const store = await open(dir.path);
  // The store refuses the second run as input at decide time (every time: a replay would too);
  // the runs after it are already issued and the store aborts them.
  const refusedSeq = (msgs[1] as InboundMessage).seq;
  const counting = countingStore(store, undefined, (b) => b.seq === refusedSeq);
  const events: number[] = [];
  const logs: string[] = [];
  const a = newApplier(counting.store, { merge: 1, inflight: 3, publish: (b) => events.push(decodeCommitEvent(b).seq), log: (l) => logs.push(l) });
  await a.apply(msgs);
  await a.drain();
  const last = (msgs[msgs.length - 1] as InboundMessage).seq;
  assert.equal(a.applied, last, 'every message applied');
  assert.equal(store.head().seq, last);
  assert.equal(a.stats.store_refused, 1, 'the refused message applied empty, as alone');
  assert.deepEqual(events, msgs.map((m) => m.seq).filter((s) => s !== refusedSeq), 'one event per other message, in order');
  assert.match(logs.join('\n'), /runs behind it go again after it/);
  assert.ok(counting.seen.some((c) => c.seq > refusedSeq && c.inflight > 0), 'runs were issued behind the refused one');
  // The same stream again from scratch gives the same tree: the recovery is a function of the input.
  const dir2 = tempDir('pipeline-unforeseen-again');
  const store2 = await open(dir2.path);
  const b = newApplier(countingStore(store2, undefined, (x) => x.seq === refusedSeq).store, { merge: 1, inflight: 1, publish: () => undefined });
  await b.apply(msgs);
  await b.drain();
  assert.deepEqual(store2.head(), store.head(), 'same head as one append at a time');
  await store.close();
  await store2.close();
  dir.remove();
  dir2.remove();
});

test('a refusal the input check did not foresee, with nothing queued behind it, is retried alone', async () => {
  const msgs = pipelineStream(6).filter((m) => m.seq !== 20);
  const dir = tempDir('pipeline-unforeseen-last');
  const store = await open(dir.path);
  const last = (msgs[msgs.length - 1] as InboundMessage).seq;
  // Only the first append of the merged last run (messages 14 and 17) is refused.
  const counting = countingStore(store, (b, call) => (b.seq === last && call === 2 ? new StorageError(StorageErrorCode.InputInvalid, 'once') : undefined));
  const events: number[] = [];
  const a = newApplier(counting.store, { merge: 2, inflight: 3, publish: (b) => events.push(decodeCommitEvent(b).seq) });
  await a.apply(msgs);
  await a.drain();
  assert.deepEqual(
    counting.seen.map((c) => c.seq),
    [5, 11, 17, 14, 17],
    'the refused run retried message by message after it, nothing issued in between',
  );
  assert.equal(a.applied, last);
  assert.equal(a.stats.rejected, 0, 'each message alone was accepted');
  assert.deepEqual(events, msgs.map((m) => m.seq));
  await store.close();
  dir.remove();
});

test('a fatal storage error after apply() resolved stops the loop', async () => {
  const msgs = pipelineStream(6);
  const dir = tempDir('pipeline-fatal');
  const store = await open(dir.path);
  const lastSeq = (msgs[msgs.length - 1] as InboundMessage).seq;
  const failing = {
    limits: store.limits,
    head: () => store.head(),
    append: (b: BatchInput): Promise<AppendResult> =>
      b.seq === lastSeq ? new Promise((_, reject) => setTimeout(() => reject(new StorageError(StorageErrorCode.Closed, 'disk gone')), 20)) : store.append(b),
  } as unknown as Store;
  const a = newApplier(failing, { merge: 1, inflight: 2, publish: () => undefined });
  await a.apply(msgs);
  assert.equal(a.inflight, 1, 'apply() resolved with the last append in flight');
  await assert.rejects(a.failure, (e: unknown) => e instanceof StorageError && e.code === StorageErrorCode.Closed);
  await assert.rejects(a.apply(pipelineStream(8)), (e: unknown) => e instanceof StorageError);
  assert.ok(a.applied < lastSeq);
  await store.close();
  dir.remove();
});

test('a store closed mid-pipeline reopens at a run boundary and redelivery completes it exactly once', async () => {
  const msgs = pipelineStream(60);
  const reference = await applyChecked(msgs, 1, 1, 1);
  const dir = tempDir('pipeline-close');
  const events = new Map<number, CommitEvent>();
  const publish = (bytes: Uint8Array): void => {
    const e = decodeCommitEvent(bytes);
    assert.ok(!events.has(e.seq), `second event for ${e.seq}`);
    events.set(e.seq, e);
  };
  let store = await open(dir.path);
  let a = newApplier(store, { merge: 2, inflight: 3, publish });
  await applyInPulls(a, msgs.slice(0, 30), 10);
  assert.ok(a.inflight > 0, 'appends were in flight at the close');
  await store.close();
  store = await open(dir.path);
  const reopened = store.head().seq;
  assert.ok(reopened >= a.applied, 'every applied run survived the close');
  a = newApplier(store, { merge: 2, inflight: 3, publish });
  await applyInPulls(a, msgs, 10);
  await a.drain();
  assert.ok(a.stats.skipped > 0 && a.stats.skipped <= 30);
  assert.equal(hex(store.head().root), reference.root);
  assert.deepEqual([...events.values()].map(strip), reference.events.map(strip));
  await store.close();
  dir.remove();
});

const child = fileURLToPath(new URL('./pipeline-child.js', import.meta.url));

test('kill -9 mid-pipeline: the store reopens at a whole-run boundary and redelivery completes it', async () => {
  const MESSAGES = 20_000;
  for (let round = 0; round < 3; round += 1) {
    const dir = tempDir('pipeline-kill');
    const proc = new Proc('pipeline-child', child, { CAIRN_TEST_DIR: dir.path, CAIRN_TEST_MESSAGES: String(MESSAGES) }, /ready at 0/);
    await proc.start();
    const killAfter = 40 + 60 * round;
    await until(`${killAfter} commits`, 60_000, () => Promise.resolve((proc.output.match(/committed /g)?.length ?? 0) >= killAfter ? true : undefined));
    await proc.kill();
    const printed = [...proc.output.matchAll(/committed (\d+)\n/g)].map((m) => Number(m[1]));
    const store = await open(dir.path);
    const head = store.head();
    assert.ok(head.seq >= Math.max(...printed), `reopened at ${head.seq}, below a published commit`);
    // The reference: the same messages up to the reopened sequence, one append at a time.
    const msgs = pipelineStream(MESSAGES);
    const upTo = msgs.findIndex((m) => m.seq === head.seq);
    assert.ok(upTo >= 0, `reopened at ${head.seq}, which is no message boundary`);
    const prefix = msgs.slice(0, upTo + 1);
    const ref = await applyChecked(prefix, 1, 1, 1);
    assert.equal(hex(head.root), ref.root, `round ${round}: reopened head equals the reference after message ${head.seq}`);
    assert.equal(head.size, ref.size);
    // Redelivery from the start: everything up to the head is skipped, the rest applied.
    const more = msgs.slice(0, upTo + 1 + 30);
    const events: number[] = [];
    const a = newApplier(store, { merge: 3, inflight: 3, publish: (b) => events.push(decodeCommitEvent(b).seq) });
    await applyInPulls(a, more, 8);
    await a.drain();
    assert.equal(a.stats.skipped, upTo + 1);
    assert.ok(events.every((s) => s > head.seq));
    const full = await applyChecked(more, 1, 1, 1);
    assert.equal(hex(store.head().root), full.root);
    await store.close();
    dir.remove();
  }
});

test('appends_inflight_max: a named default, checked at start against the store', async () => {
  const c = loadConfig({}, []);
  assert.equal(c.appends_inflight_max, 2);
  assert.equal(loadConfig({ CAIRN_SHARD_APPENDS_INFLIGHT_MAX: '3' }, []).appends_inflight_max, 3);
  const isConfig = (e: unknown): boolean => e instanceof ShardError && e.code === 'SHARD_CONFIG';
  assert.throws(() => loadConfig({}, ['--appends-inflight-max=0']), isConfig);
  assert.throws(() => loadConfig({}, ['--appends-inflight-max=17']), isConfig, "above the store's append_queue_max (16)");
  const dir = tempDir('pipeline-config');
  const store = await open(dir.path, 2);
  assert.throws(() => newApplier(store, { merge: 1, inflight: 3, publish: () => undefined }), isConfig);
  assert.doesNotThrow(() => newApplier(store, { merge: 1, inflight: 2, publish: () => undefined }));
  await store.close();
  dir.remove();
});
