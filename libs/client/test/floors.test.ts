// A client remembers the newest version of each key it saw proven (its writes, its reads) and
// refuses a later answer that goes below it from a state that holds it (stale_version): what a
// shard serving from a tampered or stale key index gives. Over a scripted server, no network.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CairnClient, MemoryStateStore, VerifyError } from '../src/index.js';
import { VersionFloors } from '../src/floors.js';
import type { ProvenRecord } from '../src/index.js';
import type { Receipt } from '@cairn/wire';
import { FakeCluster } from './fake-cluster.js';

const KEY = 'sku:1';

/** sku:1 at versions 1 and 2, sealed at epochs 1 and 2. */
function twoVersions(): FakeCluster {
  const c = new FakeCluster({ shards: 2 });
  c.write('a1', [{ key: KEY, value: { stock: 5 } }]);
  c.seal();
  c.write('a2', [{ key: KEY, value: { stock: 4 } }]);
  c.seal();
  return c;
}

/** The server hides the newest versions of KEY: `get` answers `version`, `history` stops there. Both still fully proven. */
function hiding(c: FakeCluster, version: number): (path: string, body: unknown) => unknown {
  const shard = c.shardOf(KEY);
  return (path, body) => {
    if (!path.startsWith(`/v1/keys/${encodeURIComponent(KEY)}`) || path.includes('at=')) return body;
    const size = (c.epochs[c.size - 1]?.heads[shard] as { size: number }).size;
    const kept = (c.shards[shard]?.records ?? []).filter((r) => r.entry.key === KEY && r.entry.version <= version);
    const old = kept[kept.length - 1];
    assert.ok(old !== undefined);
    const answer = body as Record<string, unknown>;
    if (path.endsWith('/history')) return { ...answer, records: kept.map((r) => c.recordJson(r, size)) };
    return { ...answer, record: c.recordJson(old, size) };
  };
}

function sdk(c: FakeCluster, rewrite?: (path: string, body: unknown) => unknown, keys_remembered_max?: number): CairnClient {
  return new CairnClient({
    proofUrl: 'http://proof.test',
    ingestUrl: 'http://ingest.test',
    verifierKey: c.verifierKey,
    origin: c.origin,
    store: new MemoryStateStore(),
    fetch: c.fetcher(rewrite),
    limits: { receipt_wait_ms_max: 500, receipt_poll_ms: 5, ...(keys_remembered_max === undefined ? {} : { keys_remembered_max }) },
  });
}

async function stale(p: Promise<unknown>): Promise<void> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof VerifyError && error.code === 'stale_version', String(error));
}

describe('stale answers', () => {
  it('a client that read version 2 refuses a later get or history that stops at version 1', async () => {
    const c = twoVersions();
    const honest = sdk(c);
    const liar = hiding(c, 1);
    // One client, one memory: first an honest answer, then the same server starts hiding.
    let lying = false;
    const client = sdk(c, (path, body) => (lying ? liar(path, body) : body));
    assert.equal((await client.get(KEY)).record.version, 2);
    lying = true;
    await stale(client.get(KEY));
    await stale(client.history(KEY));
    // Not every old answer is stale: version 1 is what the state of epoch 1 held.
    assert.equal((await client.getAt(KEY, 1)).record.version, 1);
    assert.equal((await honest.get(KEY)).record.version, 2);
  });

  it("a client refuses an answer below its own write's version (read your writes)", async () => {
    const c = twoVersions();
    let hide: number | undefined = undefined;
    const client = sdk(c, (path, body) => (hide === undefined ? body : hiding(c, hide)(path, body)));
    const written = await client.write({ id: 'a3', records: [{ key: KEY, value: { stock: 3 } }] });
    assert.equal(written.receipt.records[0]?.version, 3);
    hide = 2;
    await stale(client.get(KEY));
    await stale(client.history(KEY));
  });

  it('a client that never saw the newer version cannot tell (the gap an authenticated key index would close)', async () => {
    const c = twoVersions();
    const fresh = sdk(c, hiding(c, 1));
    assert.equal((await fresh.get(KEY)).record.version, 1);
  });

  it('memory is bounded by keys_remembered_max: the least recently seen key is forgotten first', async () => {
    const c = twoVersions();
    c.write('b1', [{ key: 'sku:2', value: 1 }]);
    c.seal();
    let lying = false;
    const client = sdk(c, (path, body) => (lying ? hiding(c, 1)(path, body) : body), 1);
    await client.get(KEY);
    await client.get('sku:2');
    lying = true;
    assert.equal((await client.get(KEY)).record.version, 1, 'sku:1 was forgotten for sku:2');
  });
});

describe('a lying ingest', () => {
  /** The ingest commits nothing and answers every write with `receipt`. */
  function replaying(c: FakeCluster, receipt: unknown): CairnClient {
    const inner = c.fetcher();
    const fetch = Object.assign(
      async (url: string, init?: { method?: string; body?: string }) =>
        (init?.method ?? 'GET') === 'POST' ? { status: 200, ok: true, headers: { get: () => null }, text: async () => JSON.stringify(receipt) } : inner(url, init),
      { calls: inner.calls },
    );
    return new CairnClient({ proofUrl: 'http://proof.test', ingestUrl: 'http://ingest.test', verifierKey: c.verifierKey, origin: c.origin, store: new MemoryStateStore(), fetch, limits: { receipt_wait_ms_max: 500, receipt_poll_ms: 5 } });
  }
  const order = { key: '{shop42}:order:1000', value: { status: 'paid' } };

  it("is caught answering with another transaction's receipt (entry_mismatch)", async () => {
    const c = new FakeCluster({ shards: 2 });
    const old = c.write('order-1000', [order], { by: 'checkout' });
    c.seal();
    const error = await replaying(c, old).write({ id: 'order-2000', records: [order], meta: { by: 'checkout' } }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof VerifyError && error.code === 'entry_mismatch' && /not "order-2000"/.test(error.message), String(error));
  });

  it('is caught when a precondition says another version than the one proven (entry_mismatch)', async () => {
    const c = new FakeCluster({ shards: 2 });
    const old = c.write('order-1000', [order]);
    c.seal();
    const write = { id: 'order-1000', records: [{ ...order, expect: { version: 7 } }] };
    const error = await replaying(c, old).write(write).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof VerifyError && error.code === 'entry_mismatch' && /proven version is 1, not 8/.test(error.message), String(error));
  });

  it('is caught replaying an earlier receipt of the same content to a client that saw it (stale_version)', async () => {
    const c = new FakeCluster({ shards: 2 });
    // The same client writes the same content three times; the third time the ingest answers
    // with the first receipt (ids assigned by the ingest, so only the version can tell).
    let lying = false;
    let first: Receipt | undefined = undefined;
    const inner = c.fetcher();
    const fetch = Object.assign(
      async (url: string, init?: { method?: string; body?: string }) =>
        lying && init?.method === 'POST' ? { status: 200, ok: true, headers: { get: () => null }, text: async () => JSON.stringify(first) } : inner(url, init),
      { calls: inner.calls },
    );
    const client = new CairnClient({ proofUrl: 'http://proof.test', ingestUrl: 'http://ingest.test', verifierKey: c.verifierKey, origin: c.origin, store: new MemoryStateStore(), fetch, limits: { receipt_wait_ms_max: 500, receipt_poll_ms: 5 } });
    first = (await client.write({ records: [order] })).receipt;
    assert.equal((await client.write({ records: [order] })).receipt.records[0]?.version, 2);
    lying = true;
    const error = await client.write({ records: [order] }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof VerifyError && error.code === 'stale_version', String(error));
  });

  it('a retry with the same id is answered with the original receipt, and that is no lie', async () => {
    const c = new FakeCluster({ shards: 2 });
    // Like the real ingest, a known id is answered with its first receipt and nothing is written.
    const receipts = new Map<string, string>();
    const inner = c.fetcher();
    const fetch = Object.assign(
      async (url: string, init?: { method?: string; body?: string }) => {
        const id = init?.method === 'POST' ? (JSON.parse(init.body ?? '{}') as { id?: string }).id : undefined;
        const known = id === undefined ? undefined : receipts.get(id);
        if (known !== undefined) return { status: 200, ok: true, headers: { get: () => null }, text: async () => known };
        const answer = await inner(url, init);
        if (id !== undefined) receipts.set(id, await answer.text());
        return id === undefined ? answer : { ...answer, text: async () => receipts.get(id) as string };
      },
      { calls: inner.calls },
    );
    const client = new CairnClient({ proofUrl: 'http://proof.test', ingestUrl: 'http://ingest.test', verifierKey: c.verifierKey, origin: c.origin, store: new MemoryStateStore(), fetch, limits: { receipt_wait_ms_max: 500, receipt_poll_ms: 5 } });
    const write = { id: 'pay-1', records: [{ key: '{shop}:pay:1', value: 1 }] };
    const first = await client.write(write);
    const again = await client.write(write);
    assert.deepEqual(again.receipt, first.receipt);
    assert.equal(again.proof.records[0]?.version, 1);
  });

  it('is caught with a receipt head that does not hold one of its records (entry_mismatch)', async () => {
    const c = new FakeCluster({ shards: 2 });
    const two = c.write('two', [{ key: '{a}:1', value: 1 }, { key: '{a}:2', value: 2 }]);
    c.seal();
    const short = { ...two, shards: two.shards.map((h) => ({ ...h, size: h.size - 1 })) };
    const error = await replaying(c, short).write({ id: 'two', records: [{ key: '{a}:1', value: 1 }, { key: '{a}:2', value: 2 }] }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof VerifyError && error.code === 'entry_mismatch' && /outside its head/.test(error.message), String(error));
  });
});

describe('VersionFloors', () => {
  const record = (key: string, version: number, leafIndex: number, shard = 0): ProvenRecord => ({
    shard,
    leafIndex,
    key,
    version,
    txId: 't',
    valueHash: new Uint8Array(32),
    metaHash: new Uint8Array(32),
    value: null,
    erased: true,
    meta: new Uint8Array(),
  });
  const state = (sizes: number[]) => ({ origin: 'o', epoch: 1, cut: 1, shards: sizes.map((size) => ({ size, root: new Uint8Array(32) })) });

  it('refuses exactly the answers below a version whose leaf the state holds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 101 }), (seen, leaf, answered, size) => {
        const floors = new VersionFloors(4);
        floors.learn([record('k', seen, leaf, 1)]);
        const refused = (() => {
          try {
            floors.check('k', answered, state([0, size]));
            return false;
          } catch (error) {
            assert.ok(error instanceof VerifyError && error.code === 'stale_version');
            return true;
          }
        })();
        assert.equal(refused, answered < seen && leaf < size);
      }),
    );
  });

  it('keeps the newest version seen, whatever order answers arrive in', () => {
    const floors = new VersionFloors(4);
    floors.learn([record('k', 3, 30), record('k', 1, 10), record('k', 2, 20)]);
    assert.throws(() => floors.check('k', 2, state([100])), /version 3/);
    assert.equal(floors.size, 1);
    assert.throws(() => new VersionFloors(0), RangeError);
  });
});
