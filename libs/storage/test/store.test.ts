import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyRoot, nobleHasher, rootHash } from '@cairn/merkle';
import { openStore, StorageError, type BatchInput, type Store, type TxResult } from '../src/index.js';
import { bindingsUnderTest, expectedLeafHash, hex, prng, put, sha256, tempDir, text, tx, withStore } from './helpers.js';

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof StorageError && error.code === code);
}

/** Appends `batches` two at a time, as the shard worker keeps them in flight; returns the results. */
async function appendInPairs(store: Store, batches: readonly BatchInput[]): Promise<unknown[]> {
  const results: unknown[] = [];
  for (let i = 0; i < batches.length; i += 2) results.push(...(await Promise.all(batches.slice(i, i + 2).map((batch) => store.append(batch)))));
  return results;
}

async function leafHashes(store: Store): Promise<Uint8Array[]> {
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < store.head().size; i += 1) {
    const leaf = await store.leaf(i);
    const tx = await store.transaction(leaf.entry.txId);
    assert.ok(tx && leaf.value);
    hashes.push(expectedLeafHash(leaf.entry, leaf.value, tx.meta));
  }
  return hashes;
}

for (const binding of bindingsUnderTest()) {
  describe(`store (${binding})`, () => {
    test('an empty store has the empty root and seq 0', async () => {
      await withStore('empty', { binding }, async (store) => {
        const head = store.head();
        assert.equal(head.size, 0);
        assert.equal(head.seq, 0);
        assert.deepEqual(head.root, emptyRoot(nobleHasher));
        assert.equal(store.binding, binding);
      });
    });

    test('versions, history and time-travel reads', async () => {
      await withStore('history', { binding }, async (store) => {
        const r1 = await store.append({ seq: 1, txs: [tx('t1', [put('a', 'a1'), put('b', 'b1')])] });
        assert.equal(r1.skipped, false);
        const r2 = await store.append({ seq: 2, txs: [tx('t2', [put('a', 'a2')]), tx('t3', [put('c', 'c1'), put('a', 'a3')])] });
        assert.ok(!r2.skipped);
        assert.deepEqual(r2.txs[1]?.records, [
          { key: 'c', version: 1, leafIndex: 3 },
          { key: 'a', version: 3, leafIndex: 4 },
        ]);
        assert.equal(store.head().size, 5);

        const latest = await store.latest('a');
        assert.equal(latest?.entry.version, 3);
        assert.deepEqual(latest?.value, text('a3'));
        assert.equal(latest?.entry.txId, 't3');
        assert.equal(await store.latest('zzz'), undefined);

        const history = await store.history('a');
        assert.deepEqual(history.map((l) => [l.entry.version, l.index, new TextDecoder().decode(l.value)]), [
          [1, 0, 'a1'],
          [2, 2, 'a2'],
          [3, 4, 'a3'],
        ]);
        assert.deepEqual((await store.history('a', { fromVersion: 2, limit: 1 })).map((l) => l.entry.version), [2]);

        // Time travel: the version each past tree size holds.
        const expected: [number, number | undefined][] = [[0, undefined], [1, 1], [2, 1], [3, 2], [4, 2], [5, 3]];
        for (const [size, version] of expected) assert.equal((await store.at('a', size))?.entry.version, version, `a at ${size}`);
        assert.equal(await store.at('c', 3), undefined);
        assert.equal((await store.at('c', 4))?.entry.version, 1);
        await rejectsWith(store.at('a', 6), 'STORAGE_OUT_OF_RANGE');

        const t3 = await store.transaction('t3');
        assert.deepEqual(t3?.leaves.map((l) => [l.entry.key, l.index]), [['c', 3], ['a', 4]]);
        assert.deepEqual(t3?.meta, text('{"tx":"t3"}'));
        assert.equal(await store.transaction('nope'), undefined);
        // The meta alone is the transaction's meta, and absent exactly when the transaction is.
        assert.deepEqual(await store.transactionMeta('t3'), t3?.meta);
        assert.equal(await store.transactionMeta('nope'), undefined);
        await rejectsWith(store.leaf(5), 'STORAGE_OUT_OF_RANGE');
        // A range reads the same leaves as one at a time, and stops at the head like leaf().
        const one = await Promise.all([0, 1, 2, 3, 4].map((i) => store.leaf(i)));
        assert.deepEqual(await store.leaves(0, 5), one);
        assert.deepEqual(await store.leaves(2, 2), one.slice(2, 4));
        assert.deepEqual(await store.leaves(5, 0), []);
        await rejectsWith(store.leaves(3, 3), 'STORAGE_OUT_OF_RANGE');
        await rejectsWith(store.leaves(-1, 1), 'STORAGE_OUT_OF_RANGE');

        // The root is the RFC 6962 root of the leaves a client recomputes from the returned fields.
        assert.deepEqual(store.head().root, rootHash(await leafHashes(store)));
      });
    });

    test('preconditions run in log order; a failed transaction commits nothing', async () => {
      await withStore('expect', { binding }, async (store) => {
        await store.append({ seq: 1, txs: [tx('t1', [put('nft', 'minted', { absent: true })])] });
        const r = await store.append({
          seq: 2,
          txs: [
            tx('sell-1', [put('nft', 'sold to x', { version: 1 }), put('bal:x', '-1')]),
            // Same expectation again: the first sale made version 2, so this one fails whole.
            tx('sell-2', [put('bal:y', '-1'), put('nft', 'sold to y', { version: 1 })]),
            tx('mint-again', [put('nft', 'again', { absent: true })]),
            tx('ok', [put('nft', 'relist', { version: 2 })]),
          ],
        });
        assert.ok(!r.skipped);
        assert.deepEqual(r.txs.map((t) => t.status), ['committed', 'precondition_failed', 'precondition_failed', 'committed']);
        assert.deepEqual(r.txs[1]?.failure, { record: 1, currentVersion: 2 });
        assert.deepEqual(r.txs[2]?.failure, { record: 0, currentVersion: 2 });
        assert.deepEqual(r.txs[3]?.records, [{ key: 'nft', version: 3, leafIndex: 3 }]);
        assert.equal(store.head().size, 4);
        assert.equal(await store.latest('bal:y'), undefined, 'nothing of a failed transaction is written');
        assert.equal(await store.transaction('sell-2'), undefined);
        assert.equal(await store.transactionMeta('sell-2'), undefined, 'no meta for a failed transaction');
        // Within a transaction a record sees the earlier records of the same transaction.
        const r3 = await store.append({ seq: 3, txs: [tx('t3', [put('k', '1', { absent: true }), put('k', '2', { version: 1 })])] });
        assert.ok(!r3.skipped);
        assert.equal(r3.txs[0]?.status, 'committed');
      });
    });

    test('exactly once: a batch at or below the stored seq is skipped; empty batches advance seq', async () => {
      await withStore('seq', { binding }, async (store) => {
        const first = await store.append({ seq: 10, txs: [tx('t1', [put('a', '1')])] });
        const again = await store.append({ seq: 10, txs: [tx('t1', [put('a', '1')])] });
        const older = await store.append({ seq: 3, txs: [tx('t0', [put('z', '1')])] });
        assert.equal(again.skipped, true);
        assert.equal(older.skipped, true);
        assert.deepEqual(again.head, first.head);
        assert.equal(store.head().size, 1);
        const marker = await store.append({ seq: 11, txs: [] });
        assert.ok(!marker.skipped);
        assert.equal(marker.head.seq, 11);
        assert.equal(marker.head.size, 1);
        assert.deepEqual(await store.headAt(11), marker.head);
        assert.deepEqual(await store.headAt(10), first.head);
        assert.equal(await store.headAt(5), undefined);
        await rejectsWith(store.append({ seq: 0, txs: [] }), 'STORAGE_INPUT_INVALID');
      });
    });

    test('duplicate ids return the original locations; different content is an id conflict', async () => {
      await withStore('dup', { binding }, async (store) => {
        const original = tx('order-1', [put('o1', 'x'), put('o2', 'y')]);
        const r1 = await store.append({ seq: 1, txs: [original, tx('order-1', [put('o1', 'other')]), original] });
        assert.ok(!r1.skipped);
        assert.deepEqual(r1.txs.map((t) => t.status), ['committed', 'id_conflict', 'duplicate']);
        assert.deepEqual(r1.txs[2]?.records, r1.txs[0]?.records);
        const r2 = await store.append({ seq: 2, txs: [tx('next', [put('o1', 'z')]), original, tx('order-1', [put('q', '1')])] });
        assert.ok(!r2.skipped);
        assert.deepEqual(r2.txs.map((t) => t.status), ['committed', 'duplicate', 'id_conflict']);
        assert.deepEqual(r2.txs[1]?.records, r1.txs[0]?.records);
        assert.equal(store.head().size, 3);
      });
    });

    test('erasure drops the value, keeps the hash, and every root stays the same', async () => {
      await withStore('erase', { binding }, async (store) => {
        await store.append({ seq: 1, txs: [tx('t1', [put('user:1', 'alice@example.com'), put('user:2', 'bob')])] });
        await store.append({ seq: 2, txs: [tx('t2', [put('user:1', 'alice@new.example')])] });
        const before = { root: store.head().root, proof: await store.inclusionProof(0, 3), root2: await store.rootAt(2) };
        const leafBefore = await store.leaf(0);
        assert.deepEqual(await store.eraseValue('user:1', 1), { leafIndex: 0, alreadyErased: false });
        assert.deepEqual(await store.eraseValue('user:1', 1), { leafIndex: 0, alreadyErased: true });
        await rejectsWith(store.eraseValue('user:1', 9), 'STORAGE_NOT_FOUND');
        const erased = await store.leaf(0);
        assert.equal(erased.erased, true);
        assert.equal(erased.value, undefined);
        assert.deepEqual(erased.entry, leafBefore.entry);
        assert.deepEqual(erased.entry.valueHash, sha256(text('alice@example.com')));
        assert.equal((await store.leaf(1)).erased, false);
        assert.deepEqual(store.head().root, before.root);
        assert.deepEqual(await store.inclusionProof(0, 3), before.proof);
        assert.deepEqual(await store.rootAt(2), before.root2);
        assert.equal((await store.history('user:1'))[0]?.erased, true);
      });
    });

    test('reopening restores head, key versions and tree, and appends continue identically', async () => {
      const a = tempDir('reopen');
      const b = tempDir('reopen-ref');
      try {
        const batches = [1, 2, 3, 4, 5].map((seq) => ({
          seq,
          txs: Array.from({ length: 60 }, (_, i) => tx(`t${seq}-${i}`, [put(`k${i % 17}`, `v${seq}-${i}`), put(`n${seq}-${i}`, 'x')])),
        }));
        const reference = await openStore({ dir: b.dir, binding, pool: false });
        for (const batch of batches) await reference.append(batch);
        let store = await openStore({ dir: a.dir, binding, pool: false });
        for (const batch of batches.slice(0, 3)) await store.append(batch);
        await store.close();
        // Twice: once with a cache that can warm completely, once with one too small to.
        store = await openStore({ dir: a.dir, binding, pool: false, limits: { key_cache_entries_max: 4 } });
        assert.equal(store.head().seq, 3);
        const perBatch = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 17 === 3).length;
        assert.equal((await store.latest('k3'))?.entry.version, 3 * perBatch);
        await store.append(batches[3]!);
        await store.close();
        store = await openStore({ dir: a.dir, binding, pool: false });
        await store.append(batches[4]!);
        assert.deepEqual(store.head(), reference.head());
        assert.deepEqual(await store.inclusionProof(17, 400), await reference.inclusionProof(17, 400));
        assert.deepEqual((await store.latest('k5'))?.entry, (await reference.latest('k5'))?.entry);
        await store.close();
        await reference.close();
      } finally {
        a.cleanup();
        b.cleanup();
      }
    });

    test('a store whose keys outnumber its key cache decides exactly as one that holds them all', async () => {
      // The small cache evicts on nearly every batch, so keys are looked up in RocksDB (version-1
      // probe, then a seek), in flight, or in the cache; preconditions see the same versions.
      const random = prng(2026);
      const batches: BatchInput[] = [];
      for (let seq = 1; seq <= 40; seq += 1) {
        const txs = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, t) => {
          const records = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, r) => {
            const key = `k${Math.floor(random() * (20 + seq * 3))}`;
            const roll = random();
            const expect = roll < 0.15 ? { absent: true as const } : roll < 0.3 ? { version: Math.floor(random() * 4) + 1 } : undefined;
            return put(key, `v${seq}-${t}-${r}`, expect);
          });
          return tx(`t${seq}-${t}`, records);
        });
        batches.push({ seq, txs });
      }
      // Two appends in flight (misses must also see the batch in flight), reopened halfway (the
      // small cache then starts incomplete).
      const run = async (cacheEntries: number, dir: string): Promise<unknown[]> => {
        const open = (): Promise<Store> => openStore({ dir, binding, pool: false, limits: { key_cache_entries_max: cacheEntries } });
        const first = await open();
        const results = await appendInPairs(first, batches.slice(0, 22));
        await first.close();
        const second = await open();
        results.push(...(await appendInPairs(second, batches.slice(22))), second.head());
        await second.close();
        return results;
      };
      const small = tempDir('cold-keys');
      const large = tempDir('warm-keys');
      try {
        const cold = await run(3, small.dir);
        const warm = await run(1_000_000, large.dir);
        assert.deepEqual(cold, warm);
        const statuses = warm.flatMap((r) => (r as { txs?: TxResult[] }).txs?.map((t) => t.status) ?? []);
        assert.ok(statuses.includes('precondition_failed') && statuses.includes('committed'), 'both outcomes exercised');
      } finally {
        small.cleanup();
        large.cleanup();
      }
    });

    test('bad input and exceeded limits are typed errors that change nothing', async () => {
      await withStore('limits', { binding, limits: { key_bytes_max: 8, value_bytes_max: 4, meta_bytes_max: 4, batch_txs_max: 2 } }, async (store) => {
        const cases: [unknown, string][] = [
          [{ seq: 1, txs: [tx('t', [put('123456789', 'v')], '')] }, 'STORAGE_KEY_TOO_LARGE'],
          [{ seq: 1, txs: [tx('t', [put('k', '12345')], '')] }, 'STORAGE_VALUE_TOO_LARGE'],
          [{ seq: 1, txs: [tx('t', [put('k', 'v')], '12345')] }, 'STORAGE_META_TOO_LARGE'],
          [{ seq: 1, txs: [tx('a', [put('k', 'v')], ''), tx('b', [put('k', 'v')], ''), tx('c', [put('k', 'v')], '')] }, 'STORAGE_BATCH_TOO_MANY_TXS'],
          [{ seq: 1, txs: [tx('t', [], '')] }, 'STORAGE_INPUT_INVALID'],
          [{ seq: 1, txs: [tx('t', [put('', 'v')], '')] }, 'STORAGE_INPUT_INVALID'],
          [{ seq: 1, txs: [tx('t', [put('a\ud800', 'v')], '')] }, 'STORAGE_INPUT_INVALID'],
          [{ seq: 1, txs: [{ ...tx('t', [put('k', 'v')], ''), contentHash: new Uint8Array(31) }] }, 'STORAGE_INPUT_INVALID'],
          [{ seq: 1, txs: [tx('t', [{ key: 'k', value: text('v'), expect: { version: 0 } }], '')] }, 'STORAGE_INPUT_INVALID'],
          [{ seq: 1, txs: [tx('t', [{ key: 'k', value: 'v' as unknown as Uint8Array }], '')] }, 'STORAGE_INPUT_INVALID'],
          [{ seq: 1.5, txs: [] }, 'STORAGE_INPUT_INVALID'],
        ];
        for (const [batch, code] of cases) await rejectsWith(store.append(batch as never), code);
        assert.equal(store.head().size, 0);
        assert.equal(store.head().seq, 0);
        await store.append({ seq: 1, txs: [tx('t', [put('k', 'v')], '')] });
        assert.equal(store.head().size, 1);
      });
      const { dir, cleanup } = tempDir('bad-limits');
      try {
        await rejectsWith(openStore({ dir, binding, limits: { tx_records_max: 9_999 } }), 'STORAGE_LIMIT_INVALID');
        await rejectsWith(openStore({ dir, binding, limits: { pool_queue_max: 0 } }), 'STORAGE_LIMIT_INVALID');
        await rejectsWith(openStore({ dir, binding, limits: { nonsense_max: 1 } as never }), 'STORAGE_LIMIT_INVALID');
      } finally {
        cleanup();
      }
    });

    test('a transaction of tx_records_max (10,000) records commits; one more is refused', async () => {
      await withStore('big-tx', { binding }, async (store) => {
        const records = Array.from({ length: 10_000 }, (_, i) => put(`big:${i % 9_000}`, `v${i}`));
        await rejectsWith(store.append({ seq: 1, txs: [tx('too-big', [...records, put('x', 'y')])] }), 'STORAGE_TX_TOO_MANY_RECORDS');
        const result = await store.append({ seq: 1, txs: [tx('big', records)] });
        assert.ok(!result.skipped);
        assert.equal(result.txs[0]?.records.length, 10_000);
        assert.equal(store.head().size, 10_000);
        assert.equal((await store.latest('big:5'))?.entry.version, 2);
        assert.equal((await store.transaction('big'))?.leaves.length, 10_000);
      });
    });

    test('appends beyond append_queue_max are pushed back with STORAGE_BUSY', async () => {
      await withStore('busy', { binding, limits: { append_queue_max: 2 } }, async (store) => {
        const results = await Promise.allSettled(
          [1, 2, 3, 4].map((seq) => store.append({ seq, txs: [tx(`t${seq}`, [put('k', String(seq))])] })),
        );
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected']);
        assert.ok(results[2]?.status === 'rejected' && (results[2].reason as StorageError).code === 'STORAGE_BUSY');
        assert.equal(store.head().seq, 2);
      });
    });

    test('a closed store refuses work', async () => {
      const { dir, cleanup } = tempDir('closed');
      try {
        const store = await openStore({ dir, binding });
        // Writes queued before close finish; writes after it are refused.
        const queued = store.append({ seq: 1, txs: [tx('t', [put('k', 'v')])] });
        const closing = store.close();
        await rejectsWith(store.append({ seq: 2, txs: [] }), 'STORAGE_CLOSED');
        assert.equal((await queued).head.size, 1);
        await closing;
        await store.close();
        await rejectsWith(store.append({ seq: 3, txs: [] }), 'STORAGE_CLOSED');
        await rejectsWith(store.latest('k'), 'STORAGE_CLOSED');
      } finally {
        cleanup();
      }
    });
  });
}

test('leaf hashes match the independent known answer for the same record', async () => {
  await withStore('kat', { pool: false }, async (store) => {
    const meta = text('{"source":"checkout"}');
    const value = text('{"total":1999,"currency":"EUR"}');
    await store.append({ seq: 1, txs: [{ id: 'order-1001', contentHash: sha256(value), meta, records: [{ key: '{shop42}:order:1001', value }] }] });
    // libs/wire/test/vectors/leaf-v1.json, vector 0.
    assert.equal(hex(store.head().root), '3bb7416cb487058c20f7605762ef4cae78e73cfb7ca7d33484c9bcb691804cc8');
  });
});

test('a batch needing more hash tasks than pool_queue_max takes larger tasks instead: no refusal, same root as inline', async () => {
  const records = Array.from({ length: 2_000 }, (_, i) => put(`k${i}`, String(i)));
  const batch = { seq: 1, txs: [tx('big', records)] };
  const inline = await withStore('pool-inline', { pool: false }, async (store) => (await store.append(batch), store.head()));
  // 2,000 records at 64 per task would be 32 tasks; the pool holds 4.
  const limits = { task_records_max: 64, pool_queue_max: 4, inline_records_max: 0, pool_threads_max: 1, main_hash_share_pct: 0 };
  const pooled = await withStore('pool-queue', { limits }, async (store) => (await store.append(batch), store.head()));
  assert.deepEqual(pooled, inline);
});
