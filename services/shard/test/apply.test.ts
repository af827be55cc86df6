// The apply loop on a real store, without NATS: random message streams (markers, duplicates, id
// conflicts, preconditions) applied with random merging, appends in flight, pull sizes and a
// crash-and-redeliver in the middle must give exactly what one append per message gives: the same
// outcome for every transaction, the same tree size after every message, the same roots, and the
// same counts (the figures the shard's metrics expose).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { openStore, type Store } from '@cairn/storage';
import { tempDir } from '@cairn/testkit';
import { decodeCommitEvent, encodeEpochMarker, encodeShardMessage, type CommitEvent, type TxPart } from '@cairn/wire';
import { Applier, storageLimitsForShard, type InboundMessage } from '../src/index.js';

const utf8 = new TextEncoder();
const KEYS = ['{a}:1', '{a}:2', '{b}:1'];

type TxShape = { readonly idPick: number; readonly value: number; readonly keys: readonly number[]; readonly expectVersion: number | undefined };
type MsgShape = { readonly marker: true } | { readonly marker: false; readonly txs: readonly TxShape[] };

const txShape = fc.record({
  idPick: fc.integer({ min: 0, max: 12 }),
  value: fc.integer({ min: 0, max: 2 }),
  keys: fc.uniqueArray(fc.integer({ min: 0, max: KEYS.length - 1 }), { minLength: 1, maxLength: 2 }),
  expectVersion: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
});
const msgShape: fc.Arbitrary<MsgShape> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ marker: true as const }) },
  { weight: 4, arbitrary: fc.record({ marker: fc.constant(false as const), txs: fc.array(txShape, { minLength: 1, maxLength: 3 }) }) },
);

function part(t: TxShape): TxPart {
  // Small id and value ranges make duplicates (same id, same content) and conflicts likely.
  const records = t.keys.map((k, i) => ({
    key: KEYS[k] as string,
    value: utf8.encode(String(t.value)),
    expect: i === 0 && t.expectVersion !== undefined ? { version: t.expectVersion } : undefined,
  }));
  const content = JSON.stringify(records.map((r) => [r.key, t.value, r.expect ?? null]));
  return { id: `tx${t.idPick}`, contentHash: new Uint8Array(createHash('sha256').update(content).digest()), meta: utf8.encode('{}'), shards: [0], records };
}

function stream(shapes: readonly MsgShape[]): InboundMessage[] {
  // Sequences with gaps: other shards' messages sit between ours.
  return shapes.map((s, i) => ({
    seq: 3 * i + 2,
    data: s.marker ? encodeEpochMarker({ shard: 0, shardCount: 1, epoch: i }) : encodeShardMessage({ shard: 0, txs: s.txs.map(part) }),
  }));
}

/** What the appliers counted (Applier.stats, which the metrics expose), summed over a crash. */
interface Counts {
  messages: number;
  markers: number;
  records: number;
  outcomes: Record<string, number>;
}

interface Outcome {
  readonly events: Map<number, CommitEvent>;
  readonly sizes: Map<number, number>;
  readonly root: string;
  readonly size: number;
  readonly counts: Counts;
}

function countsOf(appliers: readonly Applier[]): Counts {
  const c: Counts = { messages: 0, markers: 0, records: 0, outcomes: { committed: 0, duplicate: 0, id_conflict: 0, precondition_failed: 0 } };
  for (const a of appliers) {
    c.messages += a.stats.messages;
    c.markers += a.stats.markers;
    c.records += a.stats.records;
    for (const [status, n] of Object.entries(a.stats.outcomes)) c.outcomes[status] = (c.outcomes[status] ?? 0) + n;
  }
  return c;
}

async function open(dir: string): Promise<Store> {
  return openStore({ dir, limits: storageLimitsForShard, pool: false });
}

function applier(store: Store, merge: number, events: Map<number, CommitEvent>, inflight = 1): Applier {
  return new Applier(store, {
    layout: { shard: 0, shards: 1 },
    limits: { merge_msgs_max: merge, merge_records_max: 100_000, merge_bytes_max: 1 << 30 },
    boundaries_max: 1_024,
    appends_inflight_max: inflight,
    publish: (bytes) => {
      const e = decodeCommitEvent(bytes);
      // A message's event is published once, even across a crash and redelivery.
      assert.ok(!events.has(e.seq), `second event for ${e.seq}`);
      events.set(e.seq, e);
    },
    log: () => undefined,
  });
}

async function applyAll(a: Applier, msgs: readonly InboundMessage[], pull: number): Promise<void> {
  for (let i = 0; i < msgs.length; i += pull) await a.apply(msgs.slice(i, i + pull));
  await a.drain();
}

async function reference(msgs: readonly InboundMessage[]): Promise<Outcome> {
  const dir = tempDir('apply-ref');
  const store = await open(dir.path);
  const events = new Map<number, CommitEvent>();
  const a = applier(store, 1, events);
  await applyAll(a, msgs, 1);
  const sizes = new Map<number, number>();
  // One append per message: the store's head at each sequence is the truth.
  for (const m of msgs) sizes.set(m.seq, (await store.headAt(m.seq))?.size ?? -1);
  const head = store.head();
  await store.close();
  dir.remove();
  return { events, sizes, root: Buffer.from(head.root).toString('hex'), size: head.size, counts: countsOf([a]) };
}

async function merged(msgs: readonly InboundMessage[], merge: number, pull: number, crashAt: number, inflight: number): Promise<Outcome> {
  const dir = tempDir('apply-merged');
  const events = new Map<number, CommitEvent>();
  const sizes = new Map<number, number>();
  let store = await open(dir.path);
  const before = applier(store, Math.min(merge, pull), events, inflight);
  await applyAll(before, msgs.slice(0, crashAt), pull);
  await store.close();
  // Crash: the consumer redelivers from the start; everything applied must be skipped.
  store = await open(dir.path);
  const a = applier(store, Math.min(merge, pull), events, inflight);
  await applyAll(a, msgs, pull);
  for (const m of msgs) {
    const b = a.boundaries.lastAtOrBefore(m.seq);
    if (b !== undefined) sizes.set(m.seq, b.size);
  }
  const head = store.head();
  await store.close();
  dir.remove();
  return { events, sizes, root: Buffer.from(head.root).toString('hex'), size: head.size, counts: countsOf([before, a]) };
}

function strip(e: CommitEvent): unknown {
  // size and root are the head after the run (documented), so only per-transaction outcomes compare.
  return { seq: e.seq, txs: e.txs };
}

test('merged, pipelined, sliced and crash-redelivered application equals one append per message', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(msgShape, { minLength: 1, maxLength: 14 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.nat(),
      fc.integer({ min: 1, max: 3 }),
      async (shapes, merge, pull, crash, inflight) => {
        const msgs = stream(shapes);
        const ref = await reference(msgs);
        const got = await merged(msgs, merge, pull, crash % (msgs.length + 1), inflight);
        assert.equal(got.root, ref.root);
        assert.equal(got.size, ref.size);
        assert.deepEqual([...got.events.values()].map(strip), [...ref.events.values()].map(strip));
        for (const [seq, size] of got.sizes) assert.equal(size, ref.sizes.get(seq), `size after message ${seq}`);
        // The counts the metrics expose: every message and transaction once, whatever the crash redelivered.
        const statuses: Record<string, number> = { committed: 0, duplicate: 0, id_conflict: 0, precondition_failed: 0 };
        for (const e of ref.events.values()) for (const t of e.txs) statuses[t.status] = (statuses[t.status] ?? 0) + 1;
        const expected: Counts = { messages: msgs.length, markers: shapes.filter((m) => m.marker).length, records: ref.size, outcomes: statuses };
        assert.deepEqual(ref.counts, expected);
        assert.deepEqual(got.counts, expected);
      },
    ),
    { numRuns: 25 },
  );
});

test('a marker advances the applied sequence without a commit event or a leaf', async () => {
  const dir = tempDir('apply-marker');
  const store = await open(dir.path);
  const events = new Map<number, CommitEvent>();
  const a = applier(store, 8, events);
  const tx = (idPick: number): MsgShape => ({ marker: false, txs: [{ idPick, value: 1, keys: [0], expectVersion: undefined }] });
  await a.apply(stream([tx(1), tx(2), { marker: true }, tx(3)]));
  assert.equal(a.applied, 11);
  assert.equal(a.stats.markers, 1);
  assert.deepEqual([...events.keys()], [2, 5, 11]);
  assert.equal(await store.headAt(2), undefined, 'the first two messages were merged into one append');
  assert.equal((await store.headAt(5))?.size, 2);
  assert.equal((await store.headAt(8))?.size, 2, 'the marker is an append of its own, with no leaf');
  assert.equal((await store.headAt(11))?.size, 3, 'no merge across the marker');
  await store.close();
  dir.remove();
});

test('a commit event larger than event_bytes_max is published in pieces; a transaction too large alone is logged, not announced', async () => {
  const dir = tempDir('apply-event-split');
  const store = await open(dir.path);
  const pieces: CommitEvent[] = [];
  const sizes: number[] = [];
  const logs: string[] = [];
  const max = 400;
  const a = new Applier(store, {
    layout: { shard: 0, shards: 1 },
    limits: { merge_msgs_max: 1, merge_records_max: 100_000, merge_bytes_max: 1 << 30 },
    boundaries_max: 64,
    appends_inflight_max: 1,
    event_bytes_max: max,
    publish: (bytes) => {
      sizes.push(bytes.length);
      pieces.push(decodeCommitEvent(bytes));
    },
    log: (line) => logs.push(line),
  });
  // 30 one-record transactions with one-byte values: their event (~1,000 bytes) outgrows the bound.
  const many = Array.from({ length: 30 }, (_, i) => part({ idPick: 100 + i, value: 1, keys: [i % 3], expectVersion: undefined }));
  const big = { ...part({ idPick: 200, value: 1, keys: [0], expectVersion: undefined }), records: Array.from({ length: 40 }, (_, i) => ({ key: `{c}:${i}`, value: utf8.encode('1'), expect: undefined })) };
  await a.apply([
    { seq: 5, data: encodeShardMessage({ shard: 0, txs: many }) },
    { seq: 9, data: encodeShardMessage({ shard: 0, txs: [big] }) },
  ]);
  await a.drain();
  assert.ok(sizes.every((n) => n <= max), `piece sizes ${sizes.join()}`);
  const first = pieces.filter((p) => p.seq === 5);
  assert.ok(first.length > 1, 'split');
  assert.deepEqual(first.flatMap((p) => p.txs.map((t) => t.id)).sort(), many.map((t) => t.id).sort(), 'every transaction announced once');
  assert.ok(first.every((p) => p.size === first[0]?.size && p.root.join() === first[0]?.root.join()), 'every piece names the same head');
  assert.equal(pieces.filter((p) => p.seq === 9).length, 0);
  assert.equal(a.stats.events_dropped, 1);
  assert.equal(a.stats.events_split, first.length);
  assert.match(logs.join('\n'), /message 9: transaction tx200 alone takes \d+ bytes, over 400; not announced/);
  assert.equal(a.applied, 9, 'both committed');
  await store.close();
  dir.remove();
});
