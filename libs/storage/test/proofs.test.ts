import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  consistencyProof,
  inclusionProof,
  nobleHasher,
  rootHash,
  verifyConsistency,
  verifyInclusion,
  type Hasher,
} from '@cairn/merkle';
import { createNodeHasher, openStore, type AppendResult, type BatchInput, type Store, type TxInput } from '../src/index.js';
import { bindingsUnderTest, expectedLeafHash, prng, put, tempDir, tx } from './helpers.js';

/** Deterministic batches: varied sizes (crossing 256-leaf tiles), hot and fresh keys, preconditions. */
function randomBatches(seed: number, count: number, maxRecords: number): BatchInput[] {
  const random = prng(seed);
  const batches: BatchInput[] = [];
  const sent: TxInput[] = [];
  let seq = 0;
  for (let b = 0; b < count; b += 1) {
    seq += 1 + Math.floor(random() * 3);
    const txs = [];
    const txCount = Math.floor(random() * 8);
    for (let t = 0; t < txCount; t += 1) {
      const records = [];
      const n = 1 + Math.floor(random() * (random() < 0.2 ? maxRecords : 6));
      for (let r = 0; r < n; r += 1) {
        const hot = random() < 0.5;
        const key = hot ? `hot:${Math.floor(random() * 20)}` : `k:${b}:${t}:${r}`;
        const roll = random();
        const expect = n > 6 ? undefined : roll < 0.05 ? { absent: true as const } : roll < 0.1 ? { version: 1 + Math.floor(random() * 3) } : undefined;
        records.push(put(key, `v${b}.${t}.${r}.${Math.floor(random() * 1e6)}`, expect));
      }
      // Now and then re-send an earlier transaction (a duplicate) or reuse its id (a conflict).
      const earlier = sent[Math.floor(random() * sent.length)];
      const roll2 = random();
      const next = earlier !== undefined && roll2 < 0.05 ? earlier : tx(earlier !== undefined && roll2 < 0.08 ? earlier.id : `tx:${b}:${t}`, records);
      sent.push(next);
      txs.push(next);
    }
    batches.push({ seq, txs });
  }
  return batches;
}

/** Leaf hashes recomputed from the inputs and the append results, as a client would. */
function collectLeafHashes(batch: BatchInput, result: AppendResult, into: Uint8Array[]): void {
  assert.ok(!result.skipped);
  result.txs.forEach((outcome, t) => {
    if (outcome.status !== 'committed') return;
    const input = batch.txs[t]!;
    outcome.records.forEach((location, r) => {
      const record = input.records[r]!;
      assert.equal(location.key, record.key);
      into[location.leafIndex] = expectedLeafHash({ txId: input.id, key: record.key, version: location.version }, record.value, input.meta);
    });
  });
}

async function checkAgainstReference(store: Store, leaves: Uint8Array[], seed: number, checks: number, hasher: Hasher): Promise<void> {
  const random = prng(seed);
  const size = store.head().size;
  assert.equal(leaves.length, size);
  assert.deepEqual(store.head().root, rootHash(leaves, hasher));
  for (let i = 0; i < checks; i += 1) {
    const size2 = 1 + Math.floor(random() * size);
    const size1 = 1 + Math.floor(random() * size2);
    const index = Math.floor(random() * size2);
    const prefix = leaves.slice(0, size2);
    const root2 = await store.rootAt(size2);
    assert.deepEqual(root2, rootHash(prefix, hasher), `root at ${size2}`);
    const inclusion = await store.inclusionProof(index, size2);
    assert.deepEqual(inclusion, inclusionProof(prefix, index, size2, hasher), `inclusion ${index} at ${size2}`);
    verifyInclusion(leaves[index]!, index, size2, inclusion, root2);
    const consistency = await store.consistencyProof(size1, size2);
    assert.deepEqual(consistency, consistencyProof(prefix, size1, size2, hasher), `consistency ${size1}..${size2}`);
    verifyConsistency(size1, size2, consistency, await store.rootAt(size1), root2);
  }
}

test('proofs at random past sizes equal the reference builders; two stores agree byte for byte', async () => {
  const bindings = bindingsUnderTest();
  const a = tempDir('proofs-a');
  const b = tempDir('proofs-b');
  // Different binding, pool vs inline hashing, different tree hasher: none of it may change a byte.
  const pooled = await openStore({ dir: a.dir, binding: bindings[0]!, limits: { inline_records_max: 8, task_records_max: 64 } });
  const inline = await openStore({ dir: b.dir, binding: bindings[bindings.length - 1]!, pool: false, hasher: nobleHasher });
  try {
    const leaves: Uint8Array[] = [];
    const batches = randomBatches(7, 60, 300);
    const statuses = new Map<string, number>();
    for (const batch of batches) {
      const r1 = await pooled.append(batch);
      const r2 = await inline.append(batch);
      assert.deepEqual(r1, r2);
      collectLeafHashes(batch, r1, leaves);
      if (!r1.skipped) for (const t of r1.txs) statuses.set(t.status, (statuses.get(t.status) ?? 0) + 1);
    }
    assert.ok(leaves.length > 1000, `only ${leaves.length} leaves`);
    for (const status of ['committed', 'precondition_failed', 'duplicate', 'id_conflict']) {
      assert.ok((statuses.get(status) ?? 0) > 0, `the mix has no ${status}: ${JSON.stringify([...statuses])}`);
    }
    await checkAgainstReference(pooled, leaves, 11, 30, nobleHasher);
    for (const size of [1, 255, 256, 257, 511, 512, 513, leaves.length]) {
      if (size > leaves.length) continue;
      assert.deepEqual(await pooled.rootAt(size), await inline.rootAt(size));
      assert.deepEqual(await pooled.inclusionProof(size - 1, size), await inline.inclusionProof(size - 1, size));
    }
  } finally {
    await pooled.close();
    await inline.close();
    a.cleanup();
    b.cleanup();
  }
});

test('a tree past 65,536 leaves (three tile rows) still gives reference proofs', async () => {
  const { dir, cleanup } = tempDir('proofs-large');
  const store = await openStore({ dir });
  const hasher = createNodeHasher();
  try {
    const leaves: Uint8Array[] = [];
    for (let b = 0; b < 7; b += 1) {
      const txs = Array.from({ length: 10 }, (_, t) =>
        tx(`big:${b}:${t}`, Array.from({ length: 1000 }, (_, r) => put(`big:${b}:${t}:${r}`, `value ${r}`))),
      );
      const batch = { seq: b + 1, txs };
      collectLeafHashes(batch, await store.append(batch), leaves);
    }
    assert.equal(leaves.length, 70_000);
    await checkAgainstReference(store, leaves, 3, 6, hasher);
    for (const [index, size] of [[65_535, 65_536], [65_536, 65_537], [0, 70_000], [69_999, 70_000]] as const) {
      assert.deepEqual(await store.inclusionProof(index, size), inclusionProof(leaves.slice(0, size), index, size, hasher));
    }
  } finally {
    await store.close();
    cleanup();
  }
});
