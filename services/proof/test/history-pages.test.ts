// NatsShards.history against the shard's real read API (ReadApi over a real store) configured with
// a history_versions_max below the page the proof service asks first: the shard refuses the larger
// pages with SHARD_BAD_REQUEST, and the history must still come back whole, in pages the shard
// accepts. A scripted transport carries the requests (no broker), with the shard's errors turned
// into the transport's REMOTE_ERROR the way a real reply's Cairn-Error header is.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ReadApi, ShardError } from '@cairn/shard';
import { openStore, type Store } from '@cairn/storage';
import { tempDir } from '@cairn/testkit';
import { TransportError, TransportErrorCode, streamLayout, type Transport } from '@cairn/transport';
import { NatsShards } from '../src/index.js';
import { HISTORY_PAGE_MAX_DEFAULT } from '../src/nats-shards.js';

const KEY = '{h}:key';
const APPENDS = 90;
const utf8 = new TextEncoder();
const dir = tempDir('proof-history-pages');
let store: Store;
/** Leaf index of every version of KEY, version 1 first. */
const versionLeaves: number[] = [];

before(async () => {
  store = await openStore({ dir: dir.path, pool: false });
  for (let i = 0; i < APPENDS; i += 1) {
    // Another key now and then, so that the key's leaf indexes are not consecutive.
    const key = i % 3 === 2 ? '{h}:other' : KEY;
    const id = `tx-${i}`;
    const contentHash = new Uint8Array(createHash('sha256').update(id).digest());
    const result = await store.append({ seq: i + 1, txs: [{ id, contentHash, meta: utf8.encode('{}'), records: [{ key, value: utf8.encode(`"v${i}"`) }] }] });
    assert.ok(!result.skipped, `append ${i} not skipped`);
    const record = result.txs[0]?.records[0];
    assert.ok(record !== undefined, `append ${i} committed`);
    if (key === KEY) versionLeaves.push(record.leafIndex);
  }
});

after(async () => {
  await store?.close();
  dir.remove();
});

interface Scripted {
  readonly shards: NatsShards;
  /** `limit` of every history request, and whether the shard refused it. */
  readonly asked: { limit: number; refused: boolean }[];
}

function scriptedShard(historyVersionsMax: number): Scripted {
  const limits = { head_wait_ms_max: 1_000, head_probe_max: 16, history_versions_max: historyVersionsMax, leaves_max: 1_000 };
  // history touches neither the apply loop nor the stream.
  const api = new ReadApi(store, {} as ConstructorParameters<typeof ReadApi>[1], limits, {} as ConstructorParameters<typeof ReadApi>[3]);
  const asked: Scripted['asked'] = [];
  const transport = {
    layout: streamLayout({ shard_count: 1 }),
    request: async (_subject: string, data: Uint8Array): Promise<Uint8Array> => {
      const req = JSON.parse(new TextDecoder().decode(data)) as { op: string; limit?: number };
      const entry = { limit: req.limit ?? -1, refused: false };
      if (req.op === 'history') asked.push(entry);
      try {
        return await api.handle(data);
      } catch (error) {
        if (!(error instanceof ShardError)) throw error;
        entry.refused = true;
        throw new TransportError(TransportErrorCode.REMOTE_ERROR, `${error.code}: ${error.message}`, { details: { remote_code: error.code } });
      }
    },
  } as unknown as Transport;
  return { shards: new NatsShards(transport, 1_000), asked };
}

function expected(size: number, limit: number): number[] {
  return versionLeaves.filter((index) => index < size).slice(0, limit);
}

test('a shard whose history_versions_max is below the first page still answers the whole history', async () => {
  const headSize = store.head().size;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.integer({ min: 1, max: 70 }), fc.constant(HISTORY_PAGE_MAX_DEFAULT)),
      fc.integer({ min: 1, max: 80 }),
      fc.integer({ min: 0, max: headSize }),
      async (shardMax, limit, size) => {
        const { shards, asked } = scriptedShard(shardMax);
        const got = await shards.history(0, KEY, size, limit);
        assert.deepEqual(
          got.map((l) => l.leafIndex),
          expected(size, limit),
        );
        assert.deepEqual(
          got.map((l) => l.entry.version),
          expected(size, limit).map((_, i) => i + 1),
        );
        for (const a of asked) assert.equal(a.refused, a.limit > shardMax, `page of ${a.limit} with the shard's max ${shardMax}`);
        // Halvings from the first page down to an accepted one, then one request per page.
        const accepted = asked.filter((a) => !a.refused);
        assert.ok(asked.length - accepted.length <= Math.ceil(Math.log2(HISTORY_PAGE_MAX_DEFAULT)), `${asked.length - accepted.length} refusals`);
        assert.ok(accepted.length <= Math.ceil(limit / Math.max(1, Math.floor(shardMax / 2))) + 1, `${accepted.length} pages for ${limit} versions`);
      },
    ),
    { numRuns: 60 },
  );
});

test('the page a shard accepted is remembered: later histories are not refused again', async () => {
  const { shards, asked } = scriptedShard(7);
  const size = store.head().size;
  const first = await shards.history(0, KEY, size, 50);
  assert.deepEqual(
    first.map((l) => l.leafIndex),
    expected(size, 50),
  );
  const refusals = asked.filter((a) => a.refused).length;
  assert.ok(refusals > 0, 'the first page was refused');
  asked.length = 0;
  const again = await shards.history(0, KEY, size, 50);
  assert.deepEqual(
    again.map((l) => l.leafIndex),
    expected(size, 50),
  );
  assert.deepEqual(
    asked.filter((a) => a.refused),
    [],
  );
  assert.ok(
    asked.every((a) => a.limit <= 7),
    `pages ${asked.map((a) => a.limit).join(',')}`,
  );
});

test('a bad request that is not about the page size still fails after a bounded number of tries', async () => {
  const { shards, asked } = scriptedShard(HISTORY_PAGE_MAX_DEFAULT);
  // An empty key is refused by the shard whatever the page: every halving is refused too.
  await assert.rejects(shards.history(0, '', store.head().size, 10), (error: Error & { code?: string }) => error.code === 'internal');
  assert.ok(asked.length <= 1 + Math.ceil(Math.log2(HISTORY_PAGE_MAX_DEFAULT)), `${asked.length} requests`);
});
