// The read API's answers while commits land, without NATS: a real store, with commits (or stream
// publishes) injected at the exact point between the read API's steps where a concurrent one could
// land. Every answer must hold only leaves below the size it names, history pages must not stop
// early, and headAt must never answer a cut that misses a message of its subject.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { leafHash, verifyInclusion } from '@cairn/merkle';
import { openStore, type Store } from '@cairn/storage';
import { tempDir } from '@cairn/testkit';
import { encodeLeaf } from '@cairn/wire';
import { asShardError, Boundaries, ReadApi, ShardError, storageLimitsForShard, type LeafJson, type ReadLimits, type StreamView } from '../src/index.js';
import type { AppliedView, ReadStore } from '../src/reads.js';

const utf8 = new TextEncoder();
const LIMITS: ReadLimits = { head_wait_ms_max: 1_000, head_probe_max: 1_000, history_versions_max: 8, leaves_max: 100 };

/** Runs when a store lookup is entered (before it reads) or just after it returned. */
interface Race {
  before?: (() => Promise<void>) | undefined;
  after?: (() => Promise<void>) | undefined;
}

/** The store, with `race` run around every transaction, history and leaf lookup. */
function racing(store: Store, race: Race): ReadStore {
  const around = async <T>(lookup: () => Promise<T>): Promise<T> => {
    await race.before?.();
    const result = await lookup();
    await race.after?.();
    return result;
  };
  return {
    head: () => store.head(),
    headAt: (seq) => store.headAt(seq),
    rootAt: (size) => store.rootAt(size),
    at: (key, size) => store.at(key, size),
    leaf: (index) => around(() => store.leaf(index)),
    leaves: (start, count) => around(() => store.leaves(start, count)),
    inclusionProof: (index, size) => store.inclusionProof(index, size),
    consistencyProof: (size1, size2) => store.consistencyProof(size1, size2),
    history: (key, options) => around(() => store.history(key, options)),
    transaction: (id) => around(() => store.transaction(id)),
    transactionMeta: (id) => around(() => store.transactionMeta(id)),
  };
}

/** An apply loop that never runs on its own: headAt's tests do not use it. */
const idle: AppliedView = {
  applied: 0,
  boundaries: new Boundaries(1),
  waitApplied: () => Promise.reject(new Error('not used')),
};
const noStream: StreamView = {
  nextOnSubject: () => Promise.reject(new Error('not used')),
  lastSeq: () => Promise.reject(new Error('not used')),
};

class Writer {
  seq = 0;
  constructor(readonly store: Store) {}

  /** Commits one transaction writing the next version of every key given. */
  async commit(id: string, keys: readonly string[]): Promise<void> {
    this.seq += 1;
    const records = keys.map((key) => ({ key, value: utf8.encode(JSON.stringify(`${id}/${key}`)) }));
    const contentHash = new Uint8Array(createHash('sha256').update(id).digest());
    const result = await this.store.append({ seq: this.seq, txs: [{ id, contentHash, meta: utf8.encode('{}'), records }] });
    assert.equal(result.skipped, false);
  }
}

async function withStore(run: (store: Store, writer: Writer) => Promise<void>): Promise<void> {
  const dir = tempDir('shard-reads');
  const store = await openStore({ dir: dir.path, limits: storageLimitsForShard, pool: false });
  try {
    await run(store, new Writer(store));
  } finally {
    await store.close();
    dir.remove();
  }
}

/** Every leaf is in the tree the answer names: an inclusion proof at that size, against its root. */
async function assertProvenAt(api: ReadApi, leaves: readonly LeafJson[], size: number): Promise<void> {
  for (const l of leaves) {
    assert.ok(l.index < size, `leaf ${l.index} is below the answer's size ${size}`);
    const p = await api.inclusion(l.index, size);
    const entry = { txId: l.txId, key: l.key, version: l.version, valueHash: b64d(l.valueHash), metaHash: b64d(l.metaHash) };
    verifyInclusion(leafHash(encodeLeaf(entry)), l.index, size, p.proof.map(b64d), b64d(p.root));
  }
}

const b64d = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

test('transaction: a commit landing between the size and the lookup never yields leaves past the size', async () => {
  await withStore(async (store, writer) => {
    await writer.commit('tx-a', ['{a}:1']);
    const race: Race = {};
    const api = new ReadApi(racing(store, race), idle, LIMITS, noStream);
    // The transaction asked for commits while the answer is being built.
    race.before = () => writer.commit('tx-b', ['{a}:1', '{a}:2', '{b}:1']);
    const before = await api.transaction('tx-b');
    assert.equal(before.leaves.length, 3);
    await assertProvenAt(api, before.leaves, before.size);
    // Another commit lands after the lookup: the answer is still proven at the size it names.
    race.before = undefined;
    race.after = () => writer.commit('tx-c', ['{c}:1']);
    const after = await api.transaction('tx-b');
    await assertProvenAt(api, after.leaves, after.size);
    assert.ok(after.size <= store.head().size);
    race.after = undefined;
    await assert.rejects(api.transaction('tx-none'), (e: unknown) => e instanceof ShardError && e.code === 'SHARD_NOT_FOUND');
    // The meta alone is the transaction's meta, and not found exactly when the transaction is.
    assert.deepEqual(await api.meta('tx-b'), { id: 'tx-b', meta: after.meta });
    await assert.rejects(api.meta('tx-none'), (e: unknown) => e instanceof ShardError && e.code === 'SHARD_NOT_FOUND');
  });
});

test('proven: one answer holds exactly what at, inclusion and transaction answer at that size, while commits land', async () => {
  await withStore(async (store, writer) => {
    await writer.commit('tx-a', ['{a}:1', '{b}:1']);
    await writer.commit('tx-b', ['{a}:1']);
    const race: Race = {};
    const api = new ReadApi(racing(store, race), idle, LIMITS, noStream);
    race.after = () => writer.commit(`tx-later-${store.head().size}`, ['{a}:1']);
    for (const size of [1, 2, 3]) {
      const proven = await api.proven('{a}:1', size);
      race.after = undefined;
      const at = await api.at('{a}:1', size);
      const inclusion = await api.inclusion(at.leaf.index, size);
      const tx = await api.transaction(at.leaf.txId);
      assert.deepEqual(proven, { size, leaf: at.leaf, proof: inclusion.proof, meta: tx.meta }, `size ${size}`);
      await assertProvenAt(api, [proven.leaf], size);
      race.after = () => writer.commit(`tx-later-${store.head().size}`, ['{a}:1']);
    }
    race.after = undefined;
    await assert.rejects(api.proven('{none}:1', 3), (e: unknown) => asShardError(e).code === 'SHARD_NOT_FOUND');
    await assert.rejects(api.proven('{a}:1', store.head().size + 1), (e: unknown) => asShardError(e).code === 'SHARD_OUT_OF_RANGE');
    await assert.rejects(async () => api.answer({ op: 'proven', key: '{a}:1', size: 0 }), (e: unknown) => asShardError(e).code === 'SHARD_BAD_REQUEST');
  });
});

test('leaf: a leaf committed meanwhile is answered at a size that holds it', async () => {
  await withStore(async (store, writer) => {
    await writer.commit('tx-a', ['{a}:1']);
    const race: Race = {};
    const api = new ReadApi(racing(store, race), idle, LIMITS, noStream);
    await assert.rejects(api.leaf(1), (e: unknown) => asShardError(e).code === 'SHARD_OUT_OF_RANGE');
    race.before = () => writer.commit('tx-b', ['{a}:1']);
    const answer = await api.leaf(1);
    assert.equal(answer.leaf.version, 2);
    await assertProvenAt(api, [answer.leaf], answer.size);
  });
});

test('property: history pages hold only versions below their size and stop early only at the last one', async () => {
  await withStore(async (store, writer) => {
    const race: Race = {};
    const api = new ReadApi(racing(store, race), idle, LIMITS, noStream);
    let run = 0;
    const shape = fc.record({
      committed: fc.integer({ min: 0, max: 6 }),
      meanwhile: fc.integer({ min: 0, max: 3 }),
      when: fc.constantFrom('before' as const, 'after' as const),
      fromVersion: fc.integer({ min: 1, max: 11 }),
      limit: fc.integer({ min: 1, max: LIMITS.history_versions_max }),
    });
    await fc.assert(
      fc.asyncProperty(shape, async (s) => {
        run += 1;
        const key = `{h}:${run}`;
        for (let v = 0; v < s.committed; v += 1) await writer.commit(`h${run}-${v}`, [key, `{h}:other`]);
        race.before = undefined;
        race.after = undefined;
        let landed = 0;
        race[s.when] = async () => {
          // Versions committed while the page is read: before the lookup reads or after it did.
          for (; landed < s.meanwhile; landed += 1) await writer.commit(`h${run}-late${landed}`, [key]);
        };
        const page = await api.history(key, s.fromVersion, s.limit);
        assert.ok(page.leaves.length <= s.limit);
        page.leaves.forEach((l, i) => assert.equal(l.version, s.fromVersion + i, 'versions are consecutive from fromVersion'));
        await assertProvenAt(api, page.leaves, page.size);
        // Independent of the page: the newest version the tree of page.size holds.
        const newest = (await store.at(key, page.size))?.entry.version ?? 0;
        if (page.leaves.length < s.limit) {
          const lastInPage = page.leaves.at(-1)?.version ?? s.fromVersion - 1;
          assert.equal(lastInPage, Math.max(newest, s.fromVersion - 1), `a short page ends at the newest version below size ${page.size}`);
        }
      }),
      { numRuns: 40 },
    );
  });
});

/**
 * A stream of this shard's messages (true) and others' (false) at sequences 1.., where
 * `meanwhile` publishes more after any read of it has taken its answer (a concurrent publish).
 */
class Stream implements StreamView {
  readonly mine: boolean[] = [];
  meanwhile: boolean[][] = [];

  publish(batch: readonly boolean[]): void {
    this.mine.push(...batch);
  }
  async nextOnSubject(seq: number): Promise<number | undefined> {
    let found: number | undefined;
    for (let s = Math.max(1, seq); s <= this.mine.length && found === undefined; s += 1) if (this.mine[s - 1] === true) found = s;
    this.#publishMeanwhile();
    return found;
  }
  async lastSeq(): Promise<number> {
    const last = this.mine.length;
    this.#publishMeanwhile();
    return last;
  }
  #publishMeanwhile(): void {
    const batch = this.meanwhile.shift();
    if (batch !== undefined) this.publish(batch);
  }
}

/** Applies this shard's messages (no transactions: sizes stay 0) when asked to wait for them. */
class Applied implements AppliedView {
  applied = 0;
  readonly boundaries = new Boundaries(1_000);
  constructor(readonly stream: Stream) {}

  applyThrough(seq: number): void {
    for (let s = this.applied + 1; s <= Math.min(seq, this.stream.mine.length); s += 1) {
      if (this.stream.mine[s - 1] !== true) continue;
      this.boundaries.push(s, 0);
      this.applied = s;
    }
  }
  async waitApplied(seq: number): Promise<void> {
    this.applyThrough(seq);
    if (this.applied < seq) throw new ShardError('SHARD_HEAD_TIMEOUT', `applied ${this.applied}, not ${seq}`);
  }
}

/** The last message of the subject at or below seq in the stream as it is now (0: none). */
function lastMineAtOrBelow(stream: Stream, seq: number): number {
  for (let s = Math.min(seq, stream.mine.length); s >= 1; s -= 1) if (stream.mine[s - 1] === true) return s;
  return 0;
}

test('headAt: a cut beyond the stream end is refused even when a message below it is published meanwhile', async () => {
  await withStore(async (store) => {
    const stream = new Stream();
    const applied = new Applied(stream);
    stream.publish([true, false, false]); // ours at 1; the stream ends at 3
    applied.applyThrough(3);
    const api = new ReadApi(store, applied, LIMITS, stream);
    // While headAt(5) looks, a batch lands at 4 (ours) and 5. Answering from before it would name
    // a head at sequence 5 without message 4.
    stream.meanwhile = [[true, false]];
    await assert.rejects(api.headAt(5), (e: unknown) => e instanceof ShardError && e.code === 'SHARD_OUT_OF_RANGE');
    assert.equal(stream.mine.length, 5, 'the concurrent batch landed during the call');
    const again = await api.headAt(5);
    assert.equal(again.atSeq, 4, 'once inside the stream, the cut waits for message 4');
  });
});

test('property: headAt never answers a cut that misses a message of its subject, whatever lands meanwhile', async () => {
  await withStore(async (store) => {
    const batch = fc.array(fc.boolean(), { minLength: 1, maxLength: 3 });
    const shape = fc.record({
      initial: fc.array(fc.boolean(), { maxLength: 10 }),
      appliedTo: fc.nat(10),
      beyond: fc.integer({ min: -10, max: 4 }),
      meanwhile: fc.array(fc.option(batch, { nil: [] }), { maxLength: 8 }),
    });
    await fc.assert(
      fc.asyncProperty(shape, async (s) => {
        const stream = new Stream();
        const applied = new Applied(stream);
        stream.publish(s.initial);
        applied.applyThrough(s.appliedTo);
        stream.meanwhile = s.meanwhile.map((b) => [...b]);
        const api = new ReadApi(store, applied, LIMITS, stream);
        const seq = Math.max(0, s.initial.length + s.beyond);
        let answer: { atSeq: number } | undefined;
        try {
          answer = await api.headAt(seq);
        } catch (error) {
          assert.ok(error instanceof ShardError, String(error));
          assert.equal(error.code, 'SHARD_OUT_OF_RANGE');
          assert.ok(seq > s.initial.length, `refused only beyond the stream's end when asked (${s.initial.length})`);
          return;
        }
        assert.equal(answer.atSeq, lastMineAtOrBelow(stream, seq), `headAt(${seq}) names the last message of its subject at or below it`);
      }),
      { numRuns: 300 },
    );
  });
});

test('head names the size, root and sequence of one store snapshot, not the apply loop\'s sequence', async () => {
  await withStore(async (store, writer) => {
    await writer.commit('h1', ['a']);
    await writer.commit('h2', ['b']);
    // The apply loop takes a result a moment after the store's write lands: it can lag one run.
    const lagging: AppliedView = { ...idle, applied: 1 };
    const api = new ReadApi(store, lagging, LIMITS, noStream);
    const head = await api.head();
    const stored = store.head();
    assert.equal(head.size, stored.size);
    assert.equal(head.seq, stored.seq);
    assert.equal(head.seq, 2);
  });
});
