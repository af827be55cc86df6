// The SDK over a scripted server (no network): reads verify and move trust forward with a
// consistency proof; rollback, fork and lying receipts are refused; state stores persist trust.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CairnClient, LocalStorageStateStore, MemoryStateStore, RequestError, VerifyError, type StateStore, type VerifyErrorCode } from '../src/index.js';
import { FileStateStore } from '../src/node/index.js';
import { FakeCluster } from './fake-cluster.js';

function grown(): FakeCluster {
  const c = new FakeCluster({ shards: 2 });
  c.write('a1', [{ key: 'sku:1', value: { stock: 5 } }, { key: '{u7}:cart', value: ['sku:1'] }], { shop: 1 });
  c.seal();
  c.write('a2', [{ key: 'sku:1', value: { stock: 4 } }]);
  c.seal();
  return c;
}

function client(c: FakeCluster, store: StateStore = new MemoryStateStore(), rewrite?: (path: string, body: unknown) => unknown): { sdk: CairnClient; calls: string[] } {
  const fetch = c.fetcher(rewrite);
  const sdk = new CairnClient({
    proofUrl: 'http://proof.test',
    ingestUrl: 'http://ingest.test',
    verifierKey: c.verifierKey,
    origin: c.origin,
    store,
    fetch,
    limits: { receipt_wait_ms_max: 500, receipt_poll_ms: 5 },
  });
  return { sdk, calls: fetch.calls };
}

async function rejectsWith(code: VerifyErrorCode, p: Promise<unknown>): Promise<VerifyError> {
  let caught: unknown;
  await p.catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof VerifyError, `expected VerifyError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

describe('CairnClient reads', () => {
  it('get, getAt, history and getTransaction verify and return decoded values', async () => {
    const c = grown();
    const { sdk } = client(c);
    const now = await sdk.get('sku:1');
    assert.deepEqual(now.record.json, { stock: 4 });
    assert.equal(now.record.version, 2);
    assert.equal(now.epoch, 2);
    const then = await sdk.getAt('sku:1', 1);
    assert.deepEqual(then.record.json, { stock: 5 });
    assert.equal(then.epoch, 1);
    const history = await sdk.history('sku:1');
    assert.deepEqual(history.records.map((r) => r.json), [{ stock: 5 }, { stock: 4 }]);
    const past = await sdk.historyAt('sku:1', 1);
    assert.deepEqual(past.records.map((r) => r.json), [{ stock: 5 }]);
    assert.equal(past.epoch, 1);
    const tx = await sdk.getTransaction('a1');
    assert.deepEqual(tx.records.map((r) => r.key).sort(), ['sku:1', '{u7}:cart']);
    assert.deepEqual(tx.records[0]?.metaJson, { shop: 1 });
    assert.equal((await sdk.trusted())?.size, 2);
  });

  it('moves trust forward only through a verified consistency proof', async () => {
    const c = grown();
    const { sdk, calls } = client(c);
    await sdk.get('sku:1');
    c.write('a3', [{ key: 'sku:2', value: 1 }]);
    c.seal();
    c.seal();
    await sdk.get('sku:2');
    assert.ok(calls.includes('GET /v1/consistency?from=2&to=4'), calls.join(', '));
    assert.equal((await sdk.trusted())?.size, 4);
  });

  it('accepts an answer at an older checkpoint only when the server proves it is a prefix', async () => {
    const c = grown();
    c.write('a3', [{ key: 'sku:2', value: 1 }]);
    c.seal();
    const { sdk, calls } = client(c, new MemoryStateStore(), (path, body) => {
      if (path === '/v1/keys/sku%3A1') {
        c.servingSize = 2;
        const older = c.keyAnswer('sku:1');
        c.servingSize = undefined;
        return older;
      }
      return body;
    });
    await sdk.checkpoint();
    const answer = await sdk.get('sku:1');
    assert.equal(answer.checkpoint.size, 2);
    assert.ok(calls.includes('GET /v1/consistency?from=2&to=3'));
    assert.equal((await sdk.trusted())?.size, 3, 'trust never moves back');
  });

  it('refuses a rolled-back server (rollback), also for a new client sharing the store', async () => {
    const c = grown();
    c.write('a3', [{ key: 'sku:2', value: 1 }]);
    c.seal();
    const store = new MemoryStateStore();
    await client(c, store).sdk.get('sku:1');
    c.servingSize = 2; // the server lost epoch 3 (restored from an old copy)
    const error = await rejectsWith('rollback', client(c, store).sdk.get('sku:1'));
    assert.match(error.message, /size 2 .* older than the trusted size 3/);
  });

  it('refuses a forked log (fork): same size with another root, and a longer log that does not extend the trusted one', async () => {
    const c = grown();
    const store = new MemoryStateStore();
    await client(c, store).sdk.get('sku:1');
    const forked = new FakeCluster({ shards: 2, signer: c.signer, verifierKey: c.verifierKey });
    forked.write('evil', [{ key: 'sku:1', value: { stock: 999 } }]);
    forked.seal();
    forked.seal();
    await rejectsWith('fork', client(forked, store).sdk.get('sku:1'));
    forked.seal();
    await rejectsWith('fork', client(forked, store).sdk.get('sku:1'));
    assert.equal((await client(c, store).sdk.trusted())?.size, 2, 'the trusted state did not move');
  });

  it('server errors are RequestError with the server code, never VerifyError', async () => {
    const { sdk } = client(grown());
    let caught: unknown;
    await sdk.getTransaction('nope').catch((e: unknown) => (caught = e));
    assert.ok(caught instanceof RequestError);
    assert.equal(caught.code, 'not_found');
    assert.equal(caught.status, 404);
  });

  it('network failures are RequestError("network")', async () => {
    const sdk = new CairnClient({
      proofUrl: 'http://127.0.0.1:9',
      verifierKey: grown().verifierKey,
      origin: 'x',
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    await assert.rejects(sdk.get('k'), (e: unknown) => e instanceof RequestError && e.code === 'network');
  });
});

describe('CairnClient writes', () => {
  it('write() returns the receipt proven at a signed state', async () => {
    const c = grown();
    const { sdk } = client(c);
    const result = await sdk.write({ id: 'w1', records: [{ key: 'sku:9', value: { stock: 1 } }, { key: '{u7}:cart', value: [] }], meta: { by: 'sdk' } });
    assert.equal(result.receipt.id, 'w1');
    assert.equal(result.proof.records.length, 2);
    const batch = await sdk.writeBatch([
      { id: 'b1', records: [{ key: 'sku:9', value: { stock: 0 } }] },
      { id: 'b2', records: [{ key: 'sku:10', value: 1 }] },
    ]);
    assert.deepEqual(batch.map((i) => i.proof?.records[0]?.version), [2, 1]);
  });

  it('refuses a receipt that the proven transaction contradicts (entry_mismatch)', async () => {
    const c = grown();
    const { sdk } = client(c, new MemoryStateStore(), (path, body) => {
      if (path !== '/v1/transactions') return body;
      const receipt = body as { records: { version: number }[] };
      (receipt.records[0] as { version: number }).version += 1;
      return receipt;
    });
    await rejectsWith('entry_mismatch', sdk.write({ id: 'w2', records: [{ key: 'sku:1', value: 3 }] }));
  });

  it('refuses a receipt whose shard root is not the signed one at that size (state_mismatch)', async () => {
    const c = grown();
    const { sdk } = client(c);
    const receipt = c.write('w5', [{ key: 'sku:1', value: 7 }]);
    c.seal();
    const input = { id: 'w5', records: [{ key: 'sku:1', value: 7 }] };
    const proven = await sdk.proveReceipt(input, receipt); // the genuine root verifies
    assert.equal(proven.records.length, 1);
    const head = receipt.shards[0] as { root: string };
    const flipped = Buffer.from(head.root, 'base64');
    flipped[0] = (flipped[0] as number) ^ 1;
    head.root = flipped.toString('base64');
    await rejectsWith('state_mismatch', sdk.proveReceipt(input, receipt));
    head.root = 'not base64!';
    await rejectsWith('malformed_response', sdk.proveReceipt(input, receipt));
  });

  it('refuses a proven value that is not the value written (value_mismatch)', async () => {
    const c = grown();
    const { sdk } = client(c);
    const receipt = c.write('w3', [{ key: 'sku:1', value: 'server-chosen' }]);
    c.seal();
    await rejectsWith('value_mismatch', sdk.proveReceipt({ id: 'w3', records: [{ key: 'sku:1', value: 'client-sent' }] }, receipt));
  });

  it('gives up after receipt_wait_ms_max when no state contains the receipt', async () => {
    const c = grown();
    const { sdk } = client(c);
    const receipt = c.write('w4', [{ key: 'sku:1', value: 1 }]); // never sealed
    await assert.rejects(sdk.proveReceipt({ id: 'w4', records: [{ key: 'sku:1', value: 1 }] }, receipt), (e: unknown) => e instanceof RequestError && e.code === 'timeout');
  });
});

describe('state stores', () => {
  it('FileStateStore: round trip, atomic replace, no temp files left; a forged file is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-client-'));
    try {
      const path = join(dir, 'sub', 'trusted.note');
      const store = new FileStateStore(path);
      assert.equal(await store.load(), undefined);
      const c = grown();
      await client(c, store).sdk.get('sku:1');
      assert.equal(await store.load(), c.note(2));
      assert.deepEqual(await readdir(join(dir, 'sub')), ['trusted.note']);
      assert.equal((await client(c, new FileStateStore(path)).sdk.trusted())?.size, 2);
      await writeFile(path, c.note(2).replace(/\n2\n/, '\n7\n'));
      await rejectsWith('bad_signature', client(c, new FileStateStore(path)).sdk.trusted());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('LocalStorageStateStore keeps one entry per origin in a Storage-like object', async () => {
    const map = new Map<string, string>();
    const storage = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
    const c = grown();
    await client(c, new LocalStorageStateStore(storage, c.origin)).sdk.get('sku:1');
    assert.deepEqual([...map.keys()], [`cairn/checkpoint/${c.origin}`]);
    assert.equal((await client(c, new LocalStorageStateStore(storage, c.origin)).sdk.trusted())?.size, 2);
  });
});
