import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leafHash, verifyInclusion } from '@cairn/merkle';
import { encodeLeaf } from '@cairn/wire';
import {
  keyPrefix,
  keyVersionKey,
  leafChunkKey,
  openKv,
  openStore,
  tileKey,
  valueChunkKey,
  type Kv,
  type Store,
} from '../src/index.js';
import { bindingsUnderTest, put, sha256, tempDir, text, tx } from './helpers.js';

// Shows that the documented key layout is enough to change stored bytes behind the store's back
// (what the cluster's tamper tests do to a stopped shard), and that a client's checks catch it.

async function flip(kv: Kv, key: Uint8Array, at: (value: Uint8Array) => number): Promise<void> {
  const value = await kv.get(key);
  assert.ok(value, 'the key to tamper with exists');
  const changed = value.slice();
  const i = at(changed);
  changed[i] = (changed[i] as number) ^ 0x01;
  const write = kv.batch();
  write.put(key, changed);
  await kv.write(write, { sync: true });
}

async function proves(store: Store, index: number, root: Uint8Array): Promise<boolean> {
  const size = store.head().size;
  const leaf = await store.leaf(index);
  try {
    verifyInclusion(leafHash(encodeLeaf(leaf.entry)), index, size, await store.inclusionProof(index, size), root);
    return true;
  } catch {
    return false;
  }
}

for (const binding of bindingsUnderTest()) {
  test(`tampered values, leaves, tree nodes and key-index entries are caught (${binding})`, async () => {
    const { dir, cleanup } = tempDir(`tamper-${binding}`);
    try {
      let store = await openStore({ dir, binding, pool: false });
      await store.append({ seq: 1, txs: [tx('t1', [put('a', 'a1'), put('b', 'b1'), put('c', 'c1')])] });
      await store.append({ seq: 2, txs: [tx('t2', [put('a', 'a2'), put('d', 'd1'), put('e', 'e1'), put('f', 'f1')])] });
      const root = store.head().root;
      for (let i = 0; i < 7; i += 1) assert.ok(await proves(store, i, root), `leaf ${i} proves before tampering`);
      await store.close();

      const kv = await openKv(dir, binding);
      // A value (leaf 4, "d1", after "a2" in the second batch's chunk): its hash no longer matches.
      await flip(kv, valueChunkKey(3), () => 4 + (4 + 2) + 4);
      // A leaf (leaf 1, "b" of the first chunk): the last byte of its meta hash.
      await flip(kv, leafChunkKey(0), () => 4 + (4 + 81 + 2 + 1) * 2 - 1);
      // A tree node: the stored hash of leaf 6 in tile (0, 0), a sibling on leaf 5's path.
      await flip(kv, tileKey(0, 0), () => 2 + 6 * 32);
      // A key-index entry: version 1 of "a" now points at leaf 2 (key "c").
      const write = kv.batch();
      write.put(keyVersionKey(keyPrefix(text('a')), 1), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 2));
      await kv.write(write, { sync: true });
      await kv.close();

      store = await openStore({ dir, binding, pool: false });
      const d = await store.latest('d');
      assert.ok(d?.value);
      assert.notDeepEqual(sha256(d.value), d.entry.valueHash, 'the value no longer matches its hash');
      assert.equal(await proves(store, 1, root), false, 'the changed leaf does not prove');
      assert.equal(await proves(store, 5, root), false, 'the changed tree node breaks the proof');
      assert.equal(await proves(store, 6, root), true, 'a path around the changes still proves');
      const [first] = await store.history('a');
      assert.notEqual(first?.entry.key, 'a', 'a client sees the key-index entry point at another key');
      await store.close();
    } finally {
      cleanup();
    }
  });
}

for (const binding of bindingsUnderTest()) {
  test(`reads refuse chunks damaged in their structure with STORAGE_CORRUPT (${binding})`, async () => {
    // Each damage below is one check of the read path (#leafChunk, #loadChunk, storedLeaf): a
    // missing chunk, a chunk too short for the leaf, leaf and value counts that differ, a leaf
    // marked erased (only values may be).
    const { encodeChunk } = await import('../src/layout.js');
    const damages: [string, (kv: Kv) => Promise<void>][] = [
      ['leaf chunk missing', async (kv) => rewrite(kv, leafChunkKey(0), undefined)],
      ['leaf chunk too short', async (kv) => rewrite(kv, leafChunkKey(0), encodeChunk([text('x')]))],
      ['value count differs', async (kv) => rewrite(kv, valueChunkKey(0), encodeChunk([text('a'), text('b')]))],
      ['leaf marked erased', async (kv) => rewrite(kv, leafChunkKey(0), encodeChunk([text('x'), text('y'), undefined]))],
    ];
    for (const [name, damage] of damages) {
      const { dir, cleanup } = tempDir(`corrupt-${binding}`);
      try {
        const store = await openStore({ dir, binding, pool: false });
        await store.append({ seq: 1, txs: [tx('t1', [put('a', 'a1'), put('b', 'b1'), put('c', 'c1')])] });
        await store.close();
        const kv = await openKv(dir, binding);
        await damage(kv);
        await kv.close();
        const reopened = await openStore({ dir, binding, pool: false });
        try {
          await assert.rejects(reopened.leaf(2), (error: unknown) => (error as { code?: string }).code === 'STORAGE_CORRUPT', name);
        } finally {
          await reopened.close();
        }
      } finally {
        cleanup();
      }
    }
  });
}

async function rewrite(kv: Kv, key: Uint8Array, value: Uint8Array | undefined): Promise<void> {
  const write = kv.batch();
  if (value === undefined) write.del(key);
  else write.put(key, value);
  await kv.write(write, { sync: true });
}
