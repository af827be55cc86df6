import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError, type AppendResult, type BatchInput, type TxInput } from '../src/index.js';
import type { Kv } from '../src/kv.js';
import { openStoreOnWrappedKv } from '../src/store.js';
import { bindingsUnderTest, prng, put, tempDir, tx, withStore } from './helpers.js';

// Appends issued without waiting for the previous one are decided while earlier writes are in
// flight. They must give exactly what the same appends give one at a time.

const BATCHES = 40;

/**
 * Batches that lean on the batches just before them: hot keys, version and absent preconditions
 * that hold or fail depending on earlier batches, transaction ids repeated a few batches later
 * (duplicate or conflict), repeated and stale stream sequences, and empty batches.
 */
function workload(seed: number): BatchInput[] {
  const random = prng(seed);
  const batches: BatchInput[] = [];
  const sent: TxInput[] = [];
  for (let b = 0; b < BATCHES; b += 1) {
    const seq = random() < 0.1 && b > 0 ? b : b + 1;
    const txs: TxInput[] = [];
    const count = random() < 0.1 ? 0 : 1 + Math.floor(random() * 6);
    for (let t = 0; t < count; t += 1) {
      const again = sent[Math.floor(random() * sent.length)];
      if (again !== undefined && random() < 0.15) {
        txs.push(random() < 0.5 ? again : tx(again.id, [put('conflict', `b${b}`)]));
        continue;
      }
      const records = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, r) => {
        const key = `k${Math.floor(random() * 8)}`;
        const roll = random();
        if (roll < 0.2) return put(key, `b${b}t${t}r${r}`, { version: 1 + Math.floor(random() * 6) });
        if (roll < 0.3) return put(key, `b${b}t${t}r${r}`, { absent: true });
        return put(key, `b${b}t${t}r${r}`);
      });
      const made = tx(`b${b}-t${t}`, records);
      sent.push(made);
      txs.push(made);
    }
    batches.push({ seq, txs });
  }
  return batches;
}

for (const binding of bindingsUnderTest()) {
  describe(`pipelined appends (${binding})`, () => {
    test('give the same results, heads and reads as appends one at a time', async () => {
      for (const seed of [1, 2, 3]) {
        const batches = workload(seed);
        const sequential: AppendResult[] = [];
        const finalSeq = await withStore('seq', { binding }, async (store) => {
          for (const batch of batches) sequential.push(await store.append(batch));
          return { head: store.head(), latest: await store.latest('k3'), history: await store.history('k1') };
        });
        await withStore('pipe', { binding, limits: { append_queue_max: BATCHES } }, async (store) => {
          const pending = batches.map((batch) => store.append(batch));
          const pipelined: AppendResult[] = [];
          for (const [i, result] of pending.entries()) {
            const got = await result;
            // Resolved means synced and visible: the head holds this batch already.
            assert.ok(store.head().seq >= (batches[i] as BatchInput).seq || got.skipped);
            pipelined.push(got);
          }
          assert.deepEqual(pipelined, sequential, `seed ${seed}`);
          assert.deepEqual(store.head(), finalSeq.head);
          assert.deepEqual(await store.latest('k3'), finalSeq.latest);
          assert.deepEqual(await store.history('k1'), finalSeq.history);
        });
      }
    });

    test('readers never see a batch before its append resolves; erasure waits for writes in flight', async () => {
      await withStore('reads', { binding, limits: { append_queue_max: 16 } }, async (store) => {
        const resolved = new Set<number>();
        const pending = Array.from({ length: 12 }, (_, i) =>
          store.append({ seq: i + 1, txs: [tx(`t${i}`, [put('k', `v${i}`), put(`own${i}`, 'x')])] }).then((r) => {
            resolved.add(i + 1);
            return r;
          }),
        );
        const erased = store.eraseValue('own5', 1);
        for (let round = 0; round < 12; round += 1) {
          const head = store.head();
          for (let seq = head.seq + 1; seq <= 12; seq += 1) assert.ok(!resolved.has(seq) || seq <= store.head().seq);
          const latest = await store.latest('k');
          if (latest !== undefined) assert.ok(latest.index < store.head().size);
          await pending[round];
        }
        assert.equal((await erased).leafIndex, 11);
        assert.equal((await store.latest('own5'))?.erased, true);
        assert.equal((await store.latest('k'))?.entry.version, 12);
      });
    });

    test('reads see only durable versions while later batches are decided and in flight', async () => {
      for (const cacheEntries of [1_000_000, 1]) {
        const { dir, cleanup } = tempDir('durable-reads');
        try {
          // Writes held back until released, in order: the batches behind them get decided (and
          // the key cache takes their versions) while nothing of theirs is on disk.
          let release: () => void = () => undefined;
          const gate = new Promise<void>((resolve) => {
            release = resolve;
          });
          let writes = 0;
          let ordered = false;
          let chain: Promise<void> = Promise.resolve();
          const wrap = (kv: Kv): Kv => ({
            ...kv,
            orderedWrites: (ordered = kv.orderedWrites),
            binding: kv.binding,
            write: (batch, options) => {
              writes += 1;
              const held = writes > 2 ? gate : Promise.resolve();
              chain = chain.then(() => held).then(() => kv.write(batch, options));
              return chain;
            },
          });
          const store = await openStoreOnWrappedKv({ dir, binding, limits: { key_cache_entries_max: cacheEntries } }, wrap);
          await store.append({ seq: 1, txs: [tx('a', [put('k', 'v1'), put('j', 'j1')])] });
          const later = [2, 3, 4].map((seq) => store.append({ seq, txs: [tx(`t${seq}`, [put('k', `v${seq}`), put(`other${seq}`, 'x')])] }));
          // Let all three be decided. Writes 1 and 2 were the format marker and seq 1; a kv with
          // ordered writes gets the three at once, another only the first until it is done.
          const issued = ordered ? 5 : 3;
          for (let i = 0; i < 50 && writes < issued; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
          await new Promise((resolve) => setTimeout(resolve, 20));
          assert.equal(writes, issued);
          assert.equal(store.head().size, 2);
          assert.equal((await store.latest('k'))?.entry.version, 1);
          assert.equal((await store.latest('j'))?.entry.version, 1);
          assert.equal(await store.latest('other3'), undefined);
          release();
          await Promise.all(later);
          assert.equal((await store.latest('k'))?.entry.version, 4);
          assert.equal((await store.latest('other3'))?.entry.version, 1);
          // And the next batch decided against them: a precondition on the newest version holds.
          const next = await store.append({ seq: 5, txs: [tx('t5', [put('k', 'v5', { version: 4 })])] });
          assert.ok(!next.skipped && next.txs[0]?.status === 'committed');
          await store.close();
        } finally {
          cleanup();
        }
      }
    });

    test('a failed write closes the store: no later batch is written on top of it', async () => {
      const { dir, cleanup } = tempDir('failed-write');
      try {
        let writes = 0;
        /** The write of this call (1-based, the format marker at open is the first) fails. */
        const failing = 4;
        const wrap = (kv: Kv): Kv => ({
          ...kv,
          binding: kv.binding,
          // This wrapper fails one write and lets later ones through: not ordered, so the store
          // must wait for each write before the next (kv-writer.test.ts covers the ordered kind).
          orderedWrites: false,
          write: (batch, options) => {
            writes += 1;
            return writes === failing ? Promise.reject(new Error('injected disk failure')) : kv.write(batch, options);
          },
        });
        const store = await openStoreOnWrappedKv({ dir, binding }, wrap);
        const results = await Promise.allSettled([1, 2, 3, 4, 5].map((seq) => store.append({ seq, txs: [tx(`t${seq}`, [put('k', String(seq))])] })));
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected']);
        for (const r of results.slice(2)) {
          assert.ok(r.status === 'rejected' && r.reason instanceof StorageError && r.reason.code === 'STORAGE_CLOSED');
        }
        assert.equal(writes, failing, 'no write was issued after the failed one');
        assert.equal(store.head().seq, 2);
        await store.close();
        const reopened = await openStoreOnWrappedKv({ dir, binding }, (kv) => kv);
        assert.equal(reopened.head().seq, 2);
        assert.equal((await reopened.latest('k'))?.entry.version, 2);
        await reopened.close();
      } finally {
        cleanup();
      }
    });

    // Committing a later sequence past a failed one would skip the failed one for good (a sequence
    // at or below the stored one is skipped), so what was queued behind it is aborted, undecided.
    test('a batch refused for its input aborts the appends queued behind it; issued again, they commit', async () => {
      await withStore('refused', { binding }, async (store) => {
        const first = store.append({ seq: 1, txs: [tx('a', [put('k', '1')])] });
        const bad = store.append({ seq: 2, txs: [tx('b', [put('', '1')])] });
        const third = store.append({ seq: 3, txs: [tx('c', [put('k', '2', { version: 1 })])] });
        await assert.rejects(bad, (error: unknown) => error instanceof StorageError && error.code === 'STORAGE_INPUT_INVALID');
        await assert.rejects(third, (error: unknown) => error instanceof StorageError && error.code === 'STORAGE_ABORTED');
        assert.ok(!(await first).skipped);
        assert.equal(store.head().seq, 1, 'nothing past the refused batch was written');
        // Issued after the refusal was seen, still above it: aborted until an append reaches it.
        await assert.rejects(store.append({ seq: 5, txs: [tx('e', [put('e', '1')])] }), (error: unknown) => error instanceof StorageError && error.code === 'STORAGE_ABORTED');
        const again = await store.append({ seq: 2, txs: [tx('c', [put('k', '2', { version: 1 })])] });
        assert.ok(!again.skipped);
        assert.equal(again.txs[0]?.status, 'committed');
        assert.equal(store.head().seq, 2);
        assert.ok(!(await store.append({ seq: 5, txs: [tx('e', [put('e', '1')])] })).skipped, 'past the gap, appends are decided again');
      });
    });

    test('a read that fails while deciding aborts the appends queued behind it, and nothing is lost', async () => {
      const { dir, cleanup } = tempDir('failed-read');
      try {
        let failNext = false;
        const wrap = (kv: Kv): Kv => ({
          ...kv,
          binding: kv.binding,
          orderedWrites: kv.orderedWrites,
          getMany: (keys) => {
            if (!failNext) return kv.getMany(keys);
            failNext = false;
            return Promise.reject(new Error('injected read failure'));
          },
        });
        const store = await openStoreOnWrappedKv({ dir, binding }, wrap);
        await store.append({ seq: 1, txs: [tx('a', [put('k1', 'a')])] });
        failNext = true;
        const results = await Promise.allSettled([2, 3, 4].map((seq) => store.append({ seq, txs: [tx(`t${seq}`, [put(`k${seq}`, String(seq))])] })));
        assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
        const codes = results.map((r) => (r.status === 'rejected' && r.reason instanceof StorageError ? r.reason.code : String(r.status === 'rejected' ? r.reason : '')));
        assert.deepEqual(codes.slice(1), ['STORAGE_ABORTED', 'STORAGE_ABORTED'], codes.join());
        assert.equal(store.head().seq, 1);
        for (const seq of [2, 3, 4]) await store.append({ seq, txs: [tx(`t${seq}`, [put(`k${seq}`, String(seq))])] });
        assert.equal(store.head().seq, 4);
        await store.close();
        const reopened = await openStoreOnWrappedKv({ dir, binding }, (kv) => kv);
        assert.deepEqual(await Promise.all(['t2', 't3', 't4'].map(async (id) => (await reopened.transaction(id))?.leaves.length)), [1, 1, 1]);
        await reopened.close();
      } finally {
        cleanup();
      }
    });
  });
}
