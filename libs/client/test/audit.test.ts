// The auditor over a scripted server: it follows checkpoints, keeps its trust on disk, and names
// what failed between which checkpoints for rollback, fork, shard rewrite and forged state files.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAuditReport, runAudit, type AuditOptions } from '../src/node/index.js';
import { FakeCluster } from './fake-cluster.js';

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-audit-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function grow(c: FakeCluster, epochs: number): void {
  for (let i = 0; i < epochs; i += 1) {
    const n = c.epochs.length;
    c.write(`t${n}`, [{ key: `k${n % 5}`, value: n }, { key: `{g}:${n}`, value: 'x' }]);
    c.seal();
  }
}

function options(c: FakeCluster, dir: string, extra: Partial<AuditOptions> = {}): AuditOptions & { calls: string[] } {
  const fetch = c.fetcher();
  return { proofUrl: 'http://proof.test', verifierKey: c.verifierKey, origin: c.origin, stateFile: join(dir, 'audit.note'), fetch, interval_ms: 1, calls: fetch.calls, ...extra };
}

describe('runAudit', () => {
  it('follows a growing cluster across rounds and restarts', async () => {
    await withDir(async (dir) => {
      const c = new FakeCluster();
      grow(c, 3);
      const first = await runAudit(options(c, dir));
      assert.equal(first.ok, true, formatAuditReport(first));
      assert.equal(first.trusted?.size, 3);
      grow(c, 4);
      const second = await runAudit(options(c, dir, { iterations_max: 2 }));
      assert.equal(second.ok, true, formatAuditReport(second));
      assert.equal(second.advanced, 1);
      assert.equal(second.trusted?.size, 7);
      assert.match(formatAuditReport(second), /^audit OK: 2 round\(s\)/);
    });
  });

  it('reports a rollback with both checkpoints, and keeps reporting it on the next run', async () => {
    await withDir(async (dir) => {
      const c = new FakeCluster();
      grow(c, 5);
      assert.ok((await runAudit(options(c, dir))).ok);
      c.servingSize = 3;
      for (let run = 0; run < 2; run += 1) {
        const report = await runAudit(options(c, dir));
        assert.equal(report.ok, false);
        assert.equal(report.failure?.code, 'rollback');
        assert.equal(report.failure?.from?.size, 5);
        assert.equal(report.failure?.to?.size, 3);
        assert.match(formatAuditReport(report), /FAILED \[rollback\].*size 3 root [0-9a-f]{64} is older than the trusted size 5 root [0-9a-f]{64}/);
      }
    });
  });

  it('reports a fork: same size with another root, or a longer log that does not extend', async () => {
    await withDir(async (dir) => {
      const c = new FakeCluster();
      grow(c, 3);
      assert.ok((await runAudit(options(c, dir))).ok);
      const forked = new FakeCluster({ signer: c.signer, verifierKey: c.verifierKey });
      forked.write('evil', [{ key: 'k0', value: 'stolen' }]);
      for (let i = 0; i < 3; i += 1) forked.seal();
      assert.equal((await runAudit(options(forked, dir))).failure?.code, 'fork');
      forked.seal();
      const longer = await runAudit(options(forked, dir));
      assert.equal(longer.failure?.code, 'fork');
      assert.equal(longer.failure?.to?.size, 4);
    });
  });

  it("reports a shard whose history was rewritten under an append-only state log (consistency_failed)", async () => {
    await withDir(async (dir) => {
      const c = new FakeCluster({ shards: 1 });
      grow(c, 3);
      assert.ok((await runAudit(options(c, dir))).ok);
      (c.shards[0] as { leaves: Uint8Array[] }).leaves[1] = new Uint8Array(32).fill(9);
      grow(c, 1);
      const report = await runAudit(options(c, dir));
      assert.equal(report.failure?.code, 'consistency_failed');
      assert.match(report.failure?.message ?? '', /shard 0 from size 6 root [0-9a-f]+ \(epoch 3\) to size 8/);
    });
  });

  it('refuses a forged state file (bad_signature) instead of trusting it', async () => {
    await withDir(async (dir) => {
      const c = new FakeCluster();
      grow(c, 2);
      const o = options(c, dir);
      await writeFile(o.stateFile, c.note(2).replace('\n2\n', '\n1\n'));
      const report = await runAudit(o);
      assert.equal(report.failure?.code, 'bad_signature');
    });
  });

  it('samples old states and keys deterministically from the seed, and catches a rewritten old shard prefix', async () => {
    await withDir(async (dir) => {
      const c = new FakeCluster();
      grow(c, 9);
      const sample = { seed: 's1', epochs_per_round: 3, keys: ['k0', 'k1', 'k2', 'k3'], keys_per_round: 2 };
      const a = options(c, join(dir, 'a'), { sample });
      const b = options(c, join(dir, 'b'), { sample });
      const ra = await runAudit(a);
      const rb = await runAudit(b);
      assert.ok(ra.ok && rb.ok, formatAuditReport(ra));
      assert.ok(ra.samples >= 5);
      assert.deepEqual(a.calls, b.calls, 'same seed, same samples');
      const other = options(c, join(dir, 'c'), { sample: { ...sample, seed: 's2' } });
      await runAudit(other);
      assert.notDeepEqual(other.calls, a.calls, 'another seed draws other samples');
      // A rewritten old leaf: no new epoch, so only re-proven old states and records can see it.
      // (A consistency proof from a size whose left subtree holds the leaf never shows it: it is
      // the re-verified records, whose inclusion proofs pass through it, that catch it then.)
      const leaves = (c.shards[0] as { leaves: Uint8Array[] }).leaves;
      leaves[leaves.length - 2] = new Uint8Array(32).fill(3);
      const wide = { seed: 's1', epochs_per_round: 8, keys: ['k0', 'k1', 'k2', 'k3', 'k4'], keys_per_round: 20 };
      const tampered = await runAudit(options(c, join(dir, 'a'), { sample: wide }));
      assert.ok(['consistency_failed', 'inclusion_failed'].includes(tampered.failure?.code ?? ''), formatAuditReport(tampered));
    });
  });

  it('catches a sampled key whose history comes back shorter in a later round (stale_version)', async () => {
    await withDir(async (dir) => {
      const c = new FakeCluster();
      grow(c, 10); // k0 is written at n = 0 and 5: versions 1 and 2
      let histories = 0;
      const fetch = c.fetcher((path, body) => {
        if (!path.startsWith('/v1/keys/k0/history')) return body;
        histories += 1;
        const answer = body as { records: unknown[] };
        // From the second round on the server drops the newest version, with every proof intact.
        return histories === 1 ? body : { ...answer, records: answer.records.slice(0, -1) };
      });
      const sample = { seed: 's', keys: ['k0'], keys_per_round: 1, epochs_per_round: 0 };
      const report = await runAudit({ ...options(c, dir), fetch, iterations_max: 2, sample });
      assert.equal(report.failure?.code, 'stale_version', formatAuditReport(report));
      assert.equal(histories, 2);
    });
  });

  it('bounds the run by iterations_max and duration_ms_max', async () => {
    await withDir(async (dir) => {
      const c = new FakeCluster();
      grow(c, 1);
      const started = Date.now();
      const report = await runAudit(options(c, dir, { iterations_max: 1_000, duration_ms_max: 200, interval_ms: 20 }));
      assert.ok(report.ok);
      assert.ok(report.rounds < 1_000 && report.rounds >= 2, `rounds ${report.rounds}`);
      assert.ok(Date.now() - started < 2_000);
    });
  });
});
