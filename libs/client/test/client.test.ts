// The SDK over a scripted server (no network): reads verify and move trust forward with a
// consistency proof; rollback, fork and lying receipts are refused; state stores persist trust.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CairnClient, LocalStorageStateStore, MemoryStateStore, RequestError, VerifyError, type StateStore, type VerifyErrorCode } from '../src/index.js';
import { FileStateStore } from '../src/node/index.js';
import { base64Encode } from '@cairn/checkpoint';
import { rootHash } from '@cairn/merkle';
import type { Receipt, TransactionInput } from '@cairn/wire';
import { FakeCluster, flipBase64, type Epoch, type ShardModel, type StoredRecord } from './fake-cluster.js';

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

  it('accepts a past answer at an older checkpoint only when the server proves it is a prefix', async () => {
    const c = grown();
    c.write('a3', [{ key: 'sku:2', value: 1 }]);
    c.seal();
    const older = (answer: () => unknown): unknown => {
      c.servingSize = 2;
      const body = answer();
      c.servingSize = undefined;
      return body;
    };
    const { sdk, calls } = client(c, new MemoryStateStore(), (path, body) => {
      if (path === '/v1/transactions/a2') return older(() => c.txAnswer('a2'));
      if (path === '/v1/keys/sku%3A1') return older(() => c.keyAnswer('sku:1'));
      return body;
    });
    await sdk.checkpoint();
    const answer = await sdk.getTransaction('a2');
    assert.equal(answer.checkpoint.size, 2);
    assert.ok(calls.includes('GET /v1/consistency?from=2&to=3'));
    assert.equal((await sdk.trusted())?.size, 3, 'trust never moves back');
    // Not for the newest version: the server had checkpoint 3 when it was asked.
    const error = await rejectsWith('rollback', sdk.get('sku:1'));
    assert.match(error.message, /answered at checkpoint 2, older than the trusted checkpoint 3/);
  });

  it('refuses a rolled-back server (rollback), also for a new client sharing the store', async () => {
    const c = grown();
    c.write('a3', [{ key: 'sku:2', value: 1 }]);
    c.seal();
    const store = new MemoryStateStore();
    await client(c, store).sdk.get('sku:1');
    c.servingSize = 2; // the server lost epoch 3 (restored from an old copy)
    const error = await rejectsWith('rollback', client(c, store).sdk.get('sku:1'));
    assert.match(error.message, /size 2 .* older than the trusted size 3|checkpoint 2, older than the trusted checkpoint 3/);
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
    assert.equal(proven.proof.records.length, 1);
    assert.deepEqual(proven.heads, [{ shard: c.shardOf('sku:1'), size: receipt.shards[0]?.size, check: 'same_root' }]);
    assert.equal(proven.receiptVerified, true);
    const head = receipt.shards[0] as { root: string };
    const flipped = Buffer.from(head.root, 'base64');
    flipped[0] = (flipped[0] as number) ^ 1;
    head.root = flipped.toString('base64');
    await rejectsWith('state_mismatch', sdk.proveReceipt(input, receipt));
    head.root = 'not base64!';
    await rejectsWith('malformed_response', sdk.proveReceipt(input, receipt));
  });

  it('write() and writeBatch() report how each receipt head was proven', async () => {
    const c = grown();
    const { sdk } = client(c);
    const result = await sdk.write({ id: 'w7', records: [{ key: 'sku:9', value: 1 }] });
    assert.equal(result.receiptVerified, true);
    assert.deepEqual(result.heads.map((h) => h.check), ['same_root']);
    const batch = await sdk.writeBatch([
      { id: 'b7', records: [{ key: 'sku:9', value: 2 }] },
      { id: 'b8', records: [{ key: 'sku:9', value: 3 }] },
    ]);
    // Both in one epoch on one shard: the first receipt's head is smaller than the signed one.
    assert.deepEqual(batch.map((i) => i.heads?.map((h) => h.check)), [['consistency'], ['same_root']]);
    assert.deepEqual(batch.map((i) => i.receiptVerified), [true, true]);
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

describe('receipt heads at a smaller size than the signed state', () => {
  // The receipt's shard head at size s, then another write on the same shard before the epoch:
  // the signed state holds that shard at a size > s, so equal roots cannot tie them.
  function overtaken(): { c: FakeCluster; receipt: Receipt; input: TransactionInput } {
    const c = grown();
    const input = { id: 'r1', records: [{ key: 'sku:1', value: 'mine' }] };
    const receipt = c.write('r1', input.records);
    c.write('r2', [{ key: 'sku:1', value: 'later' }]);
    c.seal();
    const head = receipt.shards[0] as { shard: number; size: number };
    assert.ok(((c.epochs[c.epochs.length - 1] as Epoch).heads[head.shard]?.size ?? 0) > head.size, 'the signed size must exceed the receipt size');
    return { c, receipt, input };
  }

  function forge(receipt: Receipt): Receipt {
    const forged = JSON.parse(JSON.stringify(receipt)) as Receipt;
    const head = forged.shards[0] as { root: string };
    head.root = flipBase64(head.root, 5, 3);
    return forged;
  }

  it('an honest head is proven by the shard consistency proof, receipt size -> signed size', async () => {
    const { c, receipt, input } = overtaken();
    const { sdk, calls } = client(c);
    const result = await sdk.proveReceipt(input, receipt);
    const head = receipt.shards[0] as { shard: number; size: number };
    const signed = (c.epochs[c.epochs.length - 1] as Epoch).heads[head.shard]?.size;
    assert.ok(calls.includes(`GET /v1/shards/${head.shard}/consistency?from=${head.size}&to=${signed}`), calls.join(', '));
    assert.deepEqual(result.heads, [{ shard: head.shard, size: head.size, check: 'consistency' }]);
    assert.equal(result.receiptVerified, true);
  });

  it('a forged root is refused (consistency_failed), also when the proof is taken from the honest tree', async () => {
    const { c, receipt, input } = overtaken();
    const error = await rejectsWith('consistency_failed', client(c).sdk.proveReceipt(input, forge(receipt)));
    assert.match(error.message, /receipt size \d+ root .* signed state \d+ size \d+/);
  });

  it('a forged size (a real root of another size) is refused too', async () => {
    const { c, receipt, input } = overtaken();
    const forged = JSON.parse(JSON.stringify(receipt)) as Receipt;
    const head = forged.shards[0] as { size: number; root: string; shard: number };
    // The root of one leaf more than the receipt says: a genuine root, at the wrong size.
    const leaves = (c.shards[head.shard] as { leaves: Uint8Array[] }).leaves;
    head.root = base64Encode(rootHash(leaves.slice(0, head.size + 1)));
    await rejectsWith('consistency_failed', client(c).sdk.proveReceipt(input, forged));
  });

  it('a proof that is not a list of hashes is malformed_response; a wrong proof is consistency_failed', async () => {
    const { c, receipt, input } = overtaken();
    const rewrite = (proof: unknown) => (path: string, body: unknown) => (path.startsWith('/v1/shards/') ? { ...(body as object), proof } : body);
    await rejectsWith('malformed_response', client(c, new MemoryStateStore(), rewrite('nope')).sdk.proveReceipt(input, receipt));
    await rejectsWith('consistency_failed', client(c, new MemoryStateStore(), rewrite([])).sdk.proveReceipt(input, receipt));
  });

  it('without the shard consistency route, the head is unproven and the receipt is not verified, forged or not', async () => {
    const { c, receipt, input } = overtaken();
    c.shardConsistencyRoute = false;
    for (const r of [receipt, forge(receipt)]) {
      const result = await client(c).sdk.proveReceipt(input, r);
      assert.equal(result.receiptVerified, false);
      assert.deepEqual(result.heads.map((h) => h.check), ['unproven']);
      assert.equal(result.proof.records.length, 1, 'the transaction itself is still proven');
    }
  });

  it('a receipt that leaves out the head of a shard it wrote to is refused (entry_mismatch)', async () => {
    const { c, receipt, input } = overtaken();
    await rejectsWith('entry_mismatch', client(c).sdk.proveReceipt(input, { ...receipt, shards: [] }));
  });
});

describe('past states', () => {
  it('getAt from a state whose shard tree the checkpoint does not extend is refused (consistency_failed)', async () => {
    const c = new FakeCluster({ shards: 1 });
    c.write('t1', [{ key: 'k', value: 'v1' }]);
    c.seal(); // epoch 1: [v1]
    let forged: Record<string, unknown> | undefined = undefined;
    const { sdk, calls } = client(c, new MemoryStateStore(), (path, body) => (path === '/v1/keys/k?at=2' ? { checkpoint: c.note(3), state: c.stateJson(2, 3), record: forged } : body));
    await sdk.get('k'); // trusts 1
    c.write('evil', [{ key: 'k', value: 'forged' }]);
    c.seal(); // epoch 2: [v1, forged]
    const model = c.shards[0] as ShardModel;
    forged = c.recordJson(model.records[1] as StoredRecord, 2);
    model.leaves.pop(); // the shard's history rewritten below the next state
    model.records.pop();
    c.write('t2', [{ key: 'k', value: 'v2' }]);
    c.seal(); // epoch 3: [v1, v2]: same size as epoch 2, another root
    await sdk.checkpoint(); // 1 -> 3: the log and every shard between 1 and 3 are consistent
    await rejectsWith('consistency_failed', sdk.getAt('k', 2));
    assert.ok(calls.includes('GET /v1/consistency?from=2&to=3'));
  });

  it('an honest past state is checked once, then remembered', async () => {
    const c = grown();
    c.seal();
    const { sdk, calls } = client(c);
    assert.equal((await sdk.getAt('sku:1', 1)).record.version, 1);
    assert.equal((await sdk.historyAt('sku:1', 1)).records.length, 1);
    assert.equal(calls.filter((call) => call === 'GET /v1/consistency?from=1&to=3').length, 1);
  });
});

describe('a store shared by two clients, and outages', () => {
  it('a client never writes an older checkpoint over a newer one another client saved', async () => {
    const c = new FakeCluster({ shards: 2 });
    const shared = new MemoryStateStore();
    c.write('a', [{ key: 'k', value: 1 }]);
    c.seal();
    const tabB = client(c, shared).sdk;
    await tabB.get('k'); // B trusts 1
    c.write('b', [{ key: 'k', value: 2 }]);
    c.seal();
    c.seal();
    await client(c, shared).sdk.get('k'); // A trusts 3 and saves it
    c.servingSize = 2; // the server, restored from an older copy, answers at 2
    await tabB.get('k'); // for B, 1 -> 2 is forward, and 2 is a prefix of 3
    assert.equal((await client(c, shared).sdk.trusted())?.size, 3, 'the store kept 3');
    await rejectsWith('rollback', client(c, shared).sdk.get('k'));
  });

  it('an outage while proving an older checkpoint is a RequestError, not a rollback', async () => {
    const c = grown();
    c.seal();
    const older = c.fetcher((path, body) => {
      if (path !== '/v1/transactions/a1') return body;
      c.servingSize = 1;
      const answer = c.txAnswer('a1');
      c.servingSize = undefined;
      return answer;
    });
    const busy = { status: 503, ok: false, headers: { get: (h: string) => (h === 'retry-after' ? '1' : null) }, text: async () => '{"error":{"code":"unavailable","message":"busy"}}' };
    const fetch = async (url: string, init?: { method?: string; body?: string }) => (url.includes('/v1/consistency?from=1') ? busy : older(url, init));
    const sdk = new CairnClient({ proofUrl: 'http://proof.test', verifierKey: c.verifierKey, origin: c.origin, store: new MemoryStateStore(), fetch });
    await sdk.checkpoint();
    const error = await sdk.getTransaction('a1').then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof RequestError && error.code === 'unavailable', String(error));
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
