import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { openKv, type Kv, type KvBatch } from '../src/index.js';
import { tempDir } from './helpers.js';

// The nxtedition binding's writer thread: writes issued without waiting land in issue order (a
// group of them under one sync), and once one fails none after it lands. The store relies on
// both when it issues a write before the previous one is synced (Kv.orderedWrites).

const utf8 = new TextEncoder();
const key = (name: string): Uint8Array => utf8.encode(`test/${name}`);

async function withKv(name: string, body: (kv: Kv) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir(name);
  const kv = await openKv(dir, 'nxtedition');
  try {
    await body(kv);
  } finally {
    await kv.close();
    cleanup();
  }
}

function batchOf(kv: Kv, entries: [string, string][]): KvBatch {
  const batch = kv.batch();
  for (const [k, v] of entries) batch.put(key(k), utf8.encode(v));
  return batch;
}

describe('nxtedition writer thread', () => {
  test('declares ordered writes', async () => {
    await withKv('ordered-flag', async (kv) => assert.equal(kv.orderedWrites, true));
  });

  test('writes issued together all land, in issue order', async () => {
    await withKv('ordered', async (kv) => {
      const writes = Array.from({ length: 40 }, (_, i) =>
        kv.write(batchOf(kv, [['same', String(i)], [`own${i}`, String(i)]]), { sync: true, overlap: true }),
      );
      await Promise.all(writes);
      assert.equal(new TextDecoder().decode(await kv.get(key('same'))), '39');
      const own = await kv.getMany(Array.from({ length: 40 }, (_, i) => key(`own${i}`)));
      assert.deepEqual(own.map((v) => new TextDecoder().decode(v)), Array.from({ length: 40 }, (_, i) => String(i)));
    });
  });

  test('after a failed write, the writes issued behind it fail and do not land', async () => {
    await withKv('fail-stop', async (kv) => {
      await kv.write(batchOf(kv, [['before', '1']]), { sync: true, overlap: true });
      const broken = batchOf(kv, [['broken', '1']]) as KvBatch & { used: number };
      // A put list that claims 3 bytes more than it holds: the writer cannot parse it.
      broken.used += 3;
      const failed = kv.write(broken, { sync: true, overlap: true });
      const behind = kv.write(batchOf(kv, [['behind', '1']]), { sync: true, overlap: true });
      const onCallingThread = kv.write(batchOf(kv, [['inline', '1']]), { sync: true });
      await assert.rejects(failed, /put list/);
      await assert.rejects(behind, /earlier write failed/);
      await assert.rejects(onCallingThread, /earlier write failed/);
      assert.equal(await kv.get(key('broken')), undefined);
      assert.equal(await kv.get(key('behind')), undefined);
      assert.equal(await kv.get(key('inline')), undefined);
      assert.notEqual(await kv.get(key('before')), undefined);
    });
  });
});
