// End to end against a real cluster: nats-server, two shard processes with RocksDB on disk, the
// ingest gateway and the proof service. The SDK writes over HTTP and verifies everything it reads;
// the auditor follows the live checkpoints. Then the ledger is attacked from below: stored bytes are
// changed while a shard is stopped, the proof service's data is rolled back, and the SDK or the
// auditor must refuse with the right code.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type TempDir } from '@cairn/testkit';
import { shardOfKey } from '@cairn/wire';
import { CairnClient, MemoryStateStore, RequestError, VerifyError, type StateStore, type VerifyErrorCode } from '../src/index.js';
import { FileStateStore, formatAuditReport, runAudit } from '../src/node/index.js';
import { startE2eCluster, type E2eCluster } from './cluster.js';
import { dropKeyIndexEntry, tamperKeyIndex, tamperLeaf, tamperTileNode, tamperValue } from './tamper.js';

const SHARDS = 2;
const ORIGIN = 'e2e.cairn.test/ledger';

/** A key on `shard` with the given prefix (hash tags decide; the loop is bounded). */
function keyOn(shard: number, prefix: string): string {
  for (let i = 0; i < 1_000; i += 1) {
    const key = `{${prefix}-${i}}:item`;
    if (shardOfKey(key, SHARDS) === shard) return key;
  }
  throw new Error('no key found');
}

async function refused(code: VerifyErrorCode, p: Promise<unknown>, logs: () => string): Promise<VerifyError> {
  let caught: unknown;
  await p.catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof VerifyError, `expected VerifyError(${code}), got ${String(caught)}\n${caught instanceof RequestError ? logs() : ''}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

describe('SDK and auditor against a real cluster', { timeout: 240_000 }, () => {
  let cluster: E2eCluster;
  let work: TempDir;
  const sdk = (store: StateStore = new MemoryStateStore()): CairnClient =>
    new CairnClient({ proofUrl: cluster.proofUrl, ingestUrl: cluster.ingestUrl, apiKey: cluster.apiKey, verifierKey: cluster.verifierKey, origin: ORIGIN, store, limits: { receipt_wait_ms_max: 20_000 } });

  before(async () => {
    work = tempDir('client-e2e');
    cluster = await startE2eCluster({ shards: SHARDS, origin: ORIGIN, epochIntervalMs: 50 });
  });

  after(async () => {
    await cluster?.stop();
    work?.remove();
  });

  it('writes need the API key: without it the gateway answers 401 and nothing is written', async () => {
    const keyless = new CairnClient({ proofUrl: cluster.proofUrl, ingestUrl: cluster.ingestUrl, verifierKey: cluster.verifierKey, origin: ORIGIN });
    const key = keyOn(1, 'keyless');
    const caught = await keyless.write({ id: 'e2e-keyless', records: [{ key, value: 1 }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(caught instanceof RequestError && caught.code === 'unauthenticated' && caught.status === 401, String(caught));
    // Reads need no key, and find nothing under it.
    const read = await keyless.get(key).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(read instanceof RequestError && read.code === 'not_found', String(read));
  });

  it('writes through the SDK, then reads now, as of an older state, and the whole history, all verified', async () => {
    const client = sdk(new FileStateStore(join(work.path, 'client.note')));
    const key = keyOn(0, 'order');
    const first = await client.write({ id: 'e2e-1', records: [{ key, value: { status: 'new' } }], meta: { by: 'e2e' } });
    assert.equal(first.receipt.records[0]?.version, 1);
    // Whether the first signed state had already overtaken the head or not, it is proven.
    assert.equal(first.receiptVerified, true, JSON.stringify(first.heads));
    assert.ok(first.heads.every((h) => h.check !== 'unproven'), JSON.stringify(first.heads));
    const second = await client.write({ id: 'e2e-2', records: [{ key, value: { status: 'paid' } }] });
    assert.ok(second.proof.epoch > first.proof.epoch);
    const now = await client.get(key);
    assert.deepEqual(now.record.json, { status: 'paid' });
    assert.equal(now.record.version, 2);
    const then = await client.getAt(key, first.proof.epoch);
    assert.deepEqual(then.record.json, { status: 'new' });
    assert.deepEqual(then.record.metaJson, { by: 'e2e' });
    const history = await client.history(key);
    assert.deepEqual(history.records.map((r) => [r.version, r.txId]), [[1, 'e2e-1'], [2, 'e2e-2']]);
    assert.ok(((await client.trusted())?.size ?? 0) >= now.epoch);
  });

  it('a receipt overtaken by a later signed state is proven by the shard consistency route (receiptVerified)', async () => {
    const client = sdk();
    const key = keyOn(1, 'overtaken');
    const tx = { id: 'e2e-ov-1', records: [{ key, value: 'early' }] };
    const early = await client.write(tx);
    // A later write on the same shard, proven, so the signed state now holds that shard past the
    // early receipt's size: its head can only be tied to the signed state by a consistency proof.
    const later = await client.write({ id: 'e2e-ov-2', records: [{ key, value: 'later' }] });
    const head = early.receipt.shards[0];
    const laterHead = later.receipt.shards[0];
    assert.ok(head !== undefined && laterHead !== undefined && laterHead.size > head.size);
    const proven = await client.proveReceipt(tx, early.receipt);
    assert.ok((proven.proof.state.shards[head.shard]?.size ?? 0) > head.size, 'the signed state overtook the receipt');
    assert.deepEqual(proven.heads, [{ shard: head.shard, size: head.size, check: 'consistency' }]);
    assert.equal(proven.receiptVerified, true);
    // The proof is really checked: the same size with another root is refused.
    const forged = { ...early.receipt, shards: [{ ...head, root: laterHead.root }] };
    await refused('consistency_failed', client.proveReceipt(tx, forged), () => cluster.logs());
  });

  it('proves a cross-shard transaction on both shards at one checkpoint, and a batch', async () => {
    const client = sdk();
    const a = keyOn(0, 'nft');
    const b = keyOn(1, 'wallet');
    const written = await client.write({ id: 'e2e-sale', records: [{ key: a, value: { owner: 'bob' } }, { key: b, value: { paid: 42 } }], meta: { kind: 'sale' } });
    assert.deepEqual(written.receipt.shards.map((s) => s.shard).sort(), [0, 1]);
    const tx = await client.getTransaction('e2e-sale');
    assert.deepEqual(tx.records.map((r) => r.shard).sort(), [0, 1]);
    for (const r of tx.records) assert.ok(r.leafIndex < (tx.state.shards[r.shard]?.size ?? 0));
    const batch = await client.writeBatch([
      { id: 'e2e-b1', records: [{ key: keyOn(0, 'b'), value: 1 }] },
      { id: 'e2e-b2', records: [{ key: keyOn(1, 'b'), value: 2 }] },
      { id: 'e2e-b1', records: [{ key: keyOn(0, 'b'), value: 'other content' }] },
    ]);
    assert.ok(batch[0]?.proof !== undefined && batch[1]?.proof !== undefined);
    assert.equal(batch[2]?.error?.code, 'id_conflict');
  });

  it('the auditor follows the live cluster (signatures, state log, every shard) and re-verifies samples', async () => {
    const stateFile = join(work.path, 'audit-live.note');
    const keys = [keyOn(0, 'order'), keyOn(0, 'nft'), keyOn(1, 'wallet')];
    const first = await runAudit({ proofUrl: cluster.proofUrl, verifierKey: cluster.verifierKey, origin: ORIGIN, stateFile });
    assert.ok(first.ok, formatAuditReport(first));
    await sdk().write({ id: 'e2e-audit', records: [{ key: keyOn(1, 'audit'), value: 'x' }] });
    const second = await runAudit({
      proofUrl: cluster.proofUrl,
      verifierKey: cluster.verifierKey,
      origin: ORIGIN,
      stateFile,
      iterations_max: 3,
      interval_ms: 60,
      sample: { seed: 'e2e', keys, epochs_per_round: 3 },
    });
    assert.ok(second.ok, formatAuditReport(second));
    assert.ok((second.trusted?.size ?? 0) > (first.trusted?.size ?? 0));
    assert.ok(second.samples > 0);
  });

  it("ROLLBACK: the proof service restored from an older copy of its data is refused by the SDK and reported by the auditor", async () => {
    const store = new FileStateStore(join(work.path, 'rollback-client.note'));
    const stateFile = join(work.path, 'rollback-audit.note');
    const copy = join(work.path, 'proof-copy');
    const audit = { proofUrl: '', verifierKey: cluster.verifierKey, origin: ORIGIN, stateFile };
    await cluster.snapshotProof(copy);
    await sdk(store).write({ id: 'e2e-rb-1', records: [{ key: keyOn(0, 'rb'), value: 1 }] });
    await sdk(store).write({ id: 'e2e-rb-2', records: [{ key: keyOn(1, 'rb'), value: 2 }] });
    await sdk(store).write({ id: 'e2e-rb-3', records: [{ key: keyOn(0, 'rb'), value: 3 }] });
    const before = await runAudit({ ...audit, proofUrl: cluster.proofUrl });
    assert.ok(before.ok, formatAuditReport(before));
    await cluster.restoreProof(copy);
    // A key written before the snapshot: the restored service still has it, at its older checkpoint.
    const error = await sdk(store)
      .get(keyOn(0, 'order'))
      .then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof VerifyError && ['rollback', 'fork'].includes(error.code), `SDK get: ${String(error)}`);
    const checkpoint = await sdk(store)
      .checkpoint()
      .then(() => undefined, (e: unknown) => e);
    assert.ok(checkpoint instanceof VerifyError && ['rollback', 'fork'].includes(checkpoint.code), `SDK checkpoint: ${String(checkpoint)}`);
    const report = await runAudit({ ...audit, proofUrl: cluster.proofUrl });
    assert.equal(report.ok, false);
    assert.ok(['rollback', 'fork'].includes(report.failure?.code ?? ''), formatAuditReport(report));
    assert.match(report.failure?.message ?? '', /trusted size \d+ root [0-9a-f]{64}/);
    assert.equal(report.failure?.from?.size, before.trusted?.size);
  });

  it('a shard restored from an older copy of its data replays the stream to the same roots: no fork, reads verify', async () => {
    const stateFile = join(work.path, 'shard-restore-audit.note');
    const copy = join(work.path, 'shard1-copy');
    const key = keyOn(1, 'sr');
    const client = sdk(new FileStateStore(join(work.path, 'shard-restore-client.note')));
    await client.write({ id: 'e2e-sr-1', records: [{ key, value: 1 }] });
    await cluster.withShardStopped(1, async (dir) => cpSync(dir, copy, { recursive: true }));
    await client.write({ id: 'e2e-sr-2', records: [{ key, value: 2 }] });
    assert.ok((await runAudit({ proofUrl: cluster.proofUrl, verifierKey: cluster.verifierKey, origin: ORIGIN, stateFile })).ok);
    await cluster.withShardStopped(1, async (dir) => {
      rmSync(dir, { recursive: true, force: true });
      cpSync(copy, dir, { recursive: true });
    });
    await client.write({ id: 'e2e-sr-3', records: [{ key, value: 3 }] });
    assert.deepEqual((await client.history(key)).records.map((r) => r.json), [1, 2, 3]);
    const report = await runAudit({ proofUrl: cluster.proofUrl, verifierKey: cluster.verifierKey, origin: ORIGIN, stateFile, sample: { seed: 'sr', keys: [key] } });
    assert.ok(report.ok, formatAuditReport(report));
  });

  // Tamper tests: each uses its own keys and a fresh SDK, because an edit below a shard's tree also
  // breaks later proofs that pass through the edited bytes (which is the point).

  it('TAMPER value: a changed stored value is refused (value_mismatch)', async () => {
    const key = keyOn(1, 'tv');
    const { receipt } = await sdk().write({ id: 'e2e-tv', records: [{ key, value: { note: 'genuine value' } }] });
    const record = receipt.records[0];
    assert.ok(record !== undefined);
    await cluster.withShardStopped(record.shard, (dir) => tamperValue(dir, record.leafIndex));
    await refused('value_mismatch', sdk().get(key), () => cluster.logs());
  });

  it('TAMPER leaf: a changed stored leaf is refused (inclusion_failed)', async () => {
    const key = keyOn(0, 'tl');
    const { receipt } = await sdk().write({ id: 'e2e-tl', records: [{ key, value: 'leaf' }] });
    const record = receipt.records[0];
    assert.ok(record !== undefined);
    await cluster.withShardStopped(record.shard, (dir) => tamperLeaf(dir, record.leafIndex));
    await refused('inclusion_failed', sdk().get(key), () => cluster.logs());
  });

  it('TAMPER tree node: a changed stored node hash is refused (inclusion_failed)', async () => {
    const keys = ['{tn}:a', '{tn}:b', '{tn}:c'];
    const { receipt } = await sdk().write({ id: 'e2e-tn', records: keys.map((key, i) => ({ key, value: i })) });
    const byLeaf = [...receipt.records].sort((x, y) => x.leafIndex - y.leafIndex);
    // An even leaf and the odd leaf after it are siblings: the proof of one carries the other's node.
    const even = byLeaf.find((r) => r.leafIndex % 2 === 0 && byLeaf.some((s) => s.leafIndex === r.leafIndex + 1));
    assert.ok(even !== undefined);
    await cluster.withShardStopped(even.shard, (dir) => tamperTileNode(dir, even.leafIndex + 1));
    await refused('inclusion_failed', sdk().get(even.key), () => cluster.logs());
    // The auditor's record sampling catches it too, naming the code.
    const report = await runAudit({
      proofUrl: cluster.proofUrl,
      verifierKey: cluster.verifierKey,
      origin: ORIGIN,
      stateFile: join(work.path, 'audit-tn.note'),
      sample: { seed: 'tn', keys: [even.key], keys_per_round: 1, epochs_per_round: 0 },
    });
    assert.equal(report.failure?.code, 'inclusion_failed', formatAuditReport(report));
  });

  it('TAMPER key index: a key-index entry pointing at another leaf is refused (entry_mismatch)', async () => {
    const key = keyOn(0, 'tk');
    const other = keyOn(0, 'tk-other');
    const client = sdk();
    await client.write({ id: 'e2e-tk-1', records: [{ key, value: 1 }] });
    await client.write({ id: 'e2e-tk-2', records: [{ key, value: 2 }] });
    const { receipt } = await client.write({ id: 'e2e-tk-3', records: [{ key: other, value: 'someone else' }] });
    const victim = receipt.records[0];
    assert.ok(victim !== undefined);
    await cluster.withShardStopped(0, (dir) => tamperKeyIndex(dir, key, 2, victim.leafIndex));
    await refused('entry_mismatch', sdk().history(key), () => cluster.logs());
    // The latest-version read is caught too: by the SDK (entry_mismatch) or by the proof service's
    // own sanity check, which refuses to relay another key's record (500 internal).
    const latest = await sdk()
      .get(key)
      .then(() => undefined, (e: unknown) => e);
    assert.ok((latest instanceof VerifyError && latest.code === 'entry_mismatch') || (latest instanceof RequestError && latest.code === 'internal'), String(latest));
  });

  it('TAMPER key index: the newest version hidden from the index is refused by a client that wrote it (stale_version)', async () => {
    const key = keyOn(1, 'th');
    const writer = sdk();
    await writer.write({ id: 'e2e-th-1', records: [{ key, value: 1 }] });
    await writer.write({ id: 'e2e-th-2', records: [{ key, value: 2 }] });
    await cluster.withShardStopped(1, (dir) => dropKeyIndexEntry(dir, key, 2));
    // The shard now answers version 1 as the newest, with valid proofs: only a client that saw
    // version 2 proven inside the same state can tell (docs/design/client.md, gaps).
    await refused('stale_version', writer.get(key), () => cluster.logs());
    await refused('stale_version', writer.history(key), () => cluster.logs());
    assert.equal((await sdk().get(key)).record.version, 1, 'a client that never saw version 2 is served version 1 and cannot tell');
  });
});
