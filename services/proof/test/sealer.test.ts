// The epoch sealer against scripted shards and a scripted stream, on a real state log (RocksDB in a
// temp dir): what is appended, what is skipped, and that a failed or refused epoch writes nothing.
// The scripted shards hold real RFC 9162 trees (the reference implementation in @cairn/merkle), so
// their consistency proofs are real too and a rewritten history is caught by the proof alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { generateKeyPair, openCheckpoint, parseSignerKey, parseVerifierKey } from '@cairn/checkpoint';
import { consistencyProof, leafHash, rootHash, verifyInclusion } from '@cairn/merkle';
import { tempDir } from '@cairn/testkit';
import { encodeLeaf, stateLogEntry } from '@cairn/wire';
import { Sealer, StateLog, type MarkerPublisher, type ShardReads, type TreeHead } from '../src/index.js';
import { SealError, SealErrorCode } from '../src/sealer.js';

const ORIGIN = 'unit.cairn/sealer';
const keys = generateKeyPair(ORIGIN);
const SHARDS = 2;
const utf8 = new TextEncoder();

const root = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(label).digest());
const leaf = (label: string): Uint8Array => leafHash(utf8.encode(label));

/** A stream whose last sequence the test moves, and shards whose trees the test grows or tampers. */
class Script implements MarkerPublisher {
  seq = 0;
  published: number[] = [];
  /** Each shard's leaf hashes: its tree. */
  trees: Uint8Array[][] = [[], []];
  /** A head a shard answers instead of its tree's (a forged answer). */
  forged: (TreeHead | undefined)[] = [undefined, undefined];
  /** Applied to every consistency proof a shard answers (a lying or broken shard). */
  tamperProof: ((proof: Uint8Array[]) => Uint8Array[]) | undefined;
  asked: number[] = [];
  consistencyAsked: string[] = [];
  failShard: number | undefined;

  async lastSeq(): Promise<number> {
    return this.seq;
  }
  async publishMarkers(): Promise<number> {
    const first = this.seq + 1;
    this.seq += SHARDS;
    this.published.push(first);
    return first;
  }
  head(shard: number): TreeHead {
    const tree = this.trees[shard] as Uint8Array[];
    return this.forged[shard] ?? { size: tree.length, root: rootHash(tree) };
  }
  reads(): ShardReads {
    const unused = (): never => {
      throw new Error('not used by the sealer');
    };
    return {
      headAt: async (shard, seq) => {
        this.asked.push(seq);
        if (shard === this.failShard) throw new Error(`shard ${shard} is down`);
        return this.head(shard);
      },
      recordAt: unused,
      provenAt: unused,
      history: unused,
      transaction: unused,
      meta: unused,
      inclusionProof: unused,
      consistencyProof: async (shard, size1, size2) => {
        this.consistencyAsked.push(`${shard}:${size1}->${size2}`);
        const proof = consistencyProof(this.trees[shard] as Uint8Array[], size1, size2);
        return this.tamperProof === undefined ? proof : this.tamperProof(proof);
      },
    };
  }
  /** A message that brings `shard` to `size` leaves (fewer: the shard was restored from a copy). */
  write(shard: number, size: number): void {
    this.seq += 1;
    const tree = this.trees[shard] as Uint8Array[];
    tree.length = Math.min(tree.length, size);
    while (tree.length < size) tree.push(leaf(`${shard}/${tree.length}`));
  }
  /** Replaces leaf `index` behind the ledger's back (a rewritten history). */
  rewrite(shard: number, index: number): void {
    const tree = this.trees[shard] as Uint8Array[];
    assert.ok(index < tree.length);
    tree[index] = leaf(`${shard}/${index}/rewritten`);
  }
}

function sealer(log: StateLog, s: Script, problems: string[] = [], causes: unknown[] = []): Sealer {
  return new Sealer({
    origin: ORIGIN,
    shards: SHARDS,
    signer: parseSignerKey(keys.signerKey),
    log,
    reads: s.reads(),
    markers: s,
    epoch_interval_ms: 10,
    head_timeout_ms: 1_000,
    onProblem: (m, cause) => {
      problems.push(m);
      causes.push(cause);
    },
  });
}

function opened(note: string): { size: number; root: Uint8Array } {
  const cp = openCheckpoint(note, [parseVerifierKey(keys.verifierKey)], { origin: ORIGIN }).checkpoint;
  return { size: cp.size, root: cp.rootHash };
}

/** Runs `body` on a fresh state log in a temp directory, closed and removed after. */
async function withLog(body: (log: StateLog) => Promise<void>): Promise<void> {
  const dir = tempDir('sealer');
  const log = await StateLog.open(dir.path);
  try {
    await body(log);
  } finally {
    await log.close();
    dir.remove();
  }
}

/** The log, whose next append after arm() fails once: before writing, or after (`written`). */
function failingOnce(log: StateLog, written: boolean): { log: StateLog; arm: () => void } {
  let armed = false;
  const wrapped = new Proxy(log, {
    get(target, name) {
      if (name === 'append' && armed) {
        return async (state: Parameters<StateLog['append']>[0]) => {
          armed = false;
          if (written) await target.append(state);
          throw new Error(`injected: the state log append failed ${written ? 'after' : 'before'} its write`);
        };
      }
      const value = Reflect.get(target, name, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { log: wrapped, arm: () => (armed = true) };
}

/** A sealer that sealed epoch 1, then failed to append epoch 2 (shard 0 grown to `size` leaves). */
async function afterFailedAppend(log: StateLog, written: boolean, size: number): Promise<{ s: Script; sl: Sealer }> {
  const s = new Script();
  const failing = failingOnce(log, written);
  const sl = sealer(failing.log, s);
  assert.equal(await sl.sealOnce(), 'appended');
  s.write(0, size);
  failing.arm();
  assert.equal(await sl.sealOnce(), 'failed');
  return { s, sl };
}

test('sealer: appends on change, skips idle and unchanged cuts, signs every new head', async () => {
  await withLog(async (log) => {
    const s = new Script();
    const sealerA = sealer(log, s);
    assert.equal(opened(sealerA.signed().note).size, 0, 'an empty log is signed at size 0');
    assert.equal(await sealerA.sealOnce(), 'appended', 'the first epoch is always sealed');
    assert.equal(await sealerA.sealOnce(), 'idle');
    assert.equal(s.published.length, 1, 'no markers while the stream is idle');

    s.seq += 3; // messages that changed no head (e.g. failed preconditions)
    assert.equal(await sealerA.sealOnce(), 'unchanged');
    assert.equal(log.head().size, 1);

    s.write(0, 5);
    s.write(1, 2);
    assert.equal(await sealerA.sealOnce(), 'appended');
    const stored = await log.state(2);
    assert.equal(stored.state.epoch, 2);
    assert.equal(stored.state.origin, ORIGIN);
    assert.equal(stored.state.cut, s.published[s.published.length - 1]);
    assert.deepEqual(stored.state.shards.map((h) => h.size), [5, 2]);
    assert.deepEqual(stored.state.shards[0]?.root, s.head(0).root);

    // The signed head is the log's head, and state 2 is its leaf 1 per the contract.
    const cp = opened(sealerA.signed().note);
    assert.equal(cp.size, 2);
    const leaf = leafHash(encodeLeaf(stateLogEntry(2, stored.bytes)));
    verifyInclusion(leaf, 1, 2, await log.inclusionProof(1, 2), cp.root);
  });
});

test('sealer: an epoch a shard does not answer writes nothing, then completes at the same cut', async () => {
  await withLog(async (log) => {
    const s = new Script();
    const problems: string[] = [];
    const sl = sealer(log, s, problems);
    assert.equal(await sl.sealOnce(), 'appended');
    s.write(0, 1);
    s.failShard = 1;
    assert.equal(await sl.sealOnce(), 'failed');
    assert.equal(await sl.sealOnce(), 'failed');
    assert.equal(log.head().size, 1, 'nothing written while a shard is missing');
    assert.equal(sl.failures(), 2);
    assert.match(problems[0] ?? '', /epoch 2 abandoned/);
    assert.equal(s.published.length, 2, 'a retry without new messages reuses the published cut');
    s.failShard = undefined;
    assert.equal(await sl.sealOnce(), 'appended');
    assert.equal((await log.state(2)).state.cut, s.published[1]);
    assert.equal(sl.failures(), 0);
  });
});

test('sealer: a failed state-log append leaves the cut pending: retried, sealed, and counted as a failure meanwhile', async () => {
  await withLog(async (log) => {
    const { s, sl } = await afterFailedAppend(log, false, 3);
    assert.equal(sl.failures(), 1);
    // Nothing new reached the stream: the same cut is asked again, not taken for an idle stream.
    assert.equal(await sl.sealOnce(), 'appended');
    assert.equal(log.head().size, 2);
    assert.deepEqual((await log.state(2)).state.shards.map((h) => h.size), [3, 0]);
    assert.equal(s.published.length, 2, 'the pending cut was reused');
    assert.equal(opened(sl.signed().note).size, 2);
  });
});

test('sealer: an append that wrote its state and then failed is signed at the next attempt, not refused for good', async () => {
  await withLog(async (log) => {
    const { sl } = await afterFailedAppend(log, true, 2);
    assert.equal(log.head().size, 2, 'the state is in the log');
    assert.equal(opened(sl.signed().note).size, 1, 'but not signed yet');
    assert.equal(await sl.sealOnce(), 'appended', 'the stream is idle, and the state in the log is signed');
    assert.equal(opened(sl.signed().note).size, 2);
    assert.equal(sl.failures(), 0);
    assert.equal(await sl.sealOnce(), 'idle');
    assert.equal(log.head().size, 2, 'nothing appended twice');
  });
});

test('sealer: a shard that went back (rollback) or changed its root (fork) is never sealed', async () => {
  await withLog(async (log) => {
    const s = new Script();
    const problems: string[] = [];
    const causes: unknown[] = [];
    const sl = sealer(log, s, problems, causes);
    s.write(0, 4);
    assert.equal(await sl.sealOnce(), 'appended');
    s.write(0, 3);
    assert.equal(await sl.sealOnce(), 'failed');
    s.seq += 1;
    s.forged[0] = { size: 4, root: root('forged') };
    assert.equal(await sl.sealOnce(), 'failed');
    assert.equal(log.head().size, 1);
    assert.equal(problems.length, 2);
    assert.deepEqual(causes.map(codeOf), [SealErrorCode.Rollback, SealErrorCode.Fork]);
    assert.match(problems[0] ?? '', /epoch 2 refused/);
  });
});

function codeOf(cause: unknown): string {
  assert.ok(cause instanceof SealError, `expected a SealError, got ${String(cause)}`);
  return cause.code;
}

test('sealer: a shard that grew over a rewritten history is refused, and nothing is signed', async () => {
  await withLog(async (log) => {
    const s = new Script();
    const problems: string[] = [];
    const causes: unknown[] = [];
    const sl = sealer(log, s, problems, causes);
    s.write(0, 5);
    s.write(1, 3);
    assert.equal(await sl.sealOnce(), 'appended');
    const note = sl.signed().note;
    // Leaf 2 changes and the tree grows past the sealed size: only a consistency proof can tell.
    s.rewrite(0, 2);
    s.write(0, 9);
    s.write(1, 4);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      assert.equal(await sl.sealOnce(), 'failed', `attempt ${attempt} is refused`);
    }
    assert.equal(log.head().size, 1, 'nothing appended');
    assert.equal(sl.signed().note, note, 'nothing signed');
    assert.deepEqual(causes.map(codeOf), [SealErrorCode.Inconsistent, SealErrorCode.Inconsistent, SealErrorCode.Inconsistent]);
    assert.equal((causes[0] as SealError).shard, 0);
    assert.match(problems[0] ?? '', /epoch 2 refused/);
    assert.ok(s.consistencyAsked.includes('0:5->9'), 'the proof is asked from the sealed size to the new one');
    assert.equal(s.published.length, 2, 'a refused cut is re-asked, not re-published');
  });
});

test('sealer: a shard that answers a malformed consistency proof is refused', async () => {
  await withLog(async (log) => {
    const s = new Script();
    const causes: unknown[] = [];
    const sl = sealer(log, s, [], causes);
    s.write(1, 6);
    assert.equal(await sl.sealOnce(), 'appended');
    s.write(1, 11);
    s.tamperProof = (proof) => proof.slice(1);
    assert.equal(await sl.sealOnce(), 'failed', 'a proof one hash short');
    s.tamperProof = (proof) => [root('not a node'), ...proof.slice(1)];
    assert.equal(await sl.sealOnce(), 'failed', 'a proof with a wrong hash');
    assert.deepEqual(causes.map(codeOf), [SealErrorCode.Inconsistent, SealErrorCode.Inconsistent]);
    assert.equal(log.head().size, 1);
    s.tamperProof = undefined;
    assert.equal(await sl.sealOnce(), 'appended', 'the honest proof for the same heads seals');
  });
});

test('sealer: honest growth from any sealed size seals; a rewrite below the sealed size never does', async () => {
  await withLog(async (log) => {
    const s = new Script();
    const sl = sealer(log, s);
    assert.equal(await sl.sealOnce(), 'appended');
    const growth = fc.array(fc.tuple(fc.nat(2), fc.nat(9)), { minLength: 1, maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(growth, fc.nat(), fc.nat(9), async (steps, pick, more) => {
        for (const [which, grow] of steps) {
          const shard = which % SHARDS;
          s.write(shard, s.head(shard).size + grow);
          const outcome = await sl.sealOnce();
          assert.ok(outcome === 'appended' || outcome === 'unchanged', `honest growth sealed: ${outcome}`);
        }
        const shard = pick % SHARDS;
        const sealed = s.head(shard).size;
        if (sealed === 0) return;
        const before = log.head().size;
        const tree = (s.trees[shard] as Uint8Array[]).slice();
        s.rewrite(shard, pick % sealed);
        s.write(shard, sealed + 1 + more);
        assert.equal(await sl.sealOnce(), 'failed');
        assert.equal(log.head().size, before);
        // Repair: the shard is restored to its honest history and grows on from there.
        s.trees[shard] = tree;
        s.write(shard, sealed + 1);
        assert.equal(await sl.sealOnce(), 'appended');
      }),
      { numRuns: 25 },
    );
  });
});

test('sealer: after a restart the log resumes and the same head gets the same signed note', async () => {
  const dir = tempDir('sealer');
  const s = new Script();
  let note: string;
  {
    const log = await StateLog.open(dir.path);
    const sl = sealer(log, s);
    assert.equal(await sl.sealOnce(), 'appended');
    s.write(1, 7);
    assert.equal(await sl.sealOnce(), 'appended');
    note = sl.signed().note;
    await log.close();
  }
  const log = await StateLog.open(dir.path);
  try {
    const sl = sealer(log, s);
    assert.equal(sl.signed().note, note);
    assert.equal(await sl.sealOnce(), 'idle', 'the last cut is known after a restart');
    s.write(0, 1);
    assert.equal(await sl.sealOnce(), 'appended');
    assert.equal(log.head().size, 3);
    assert.equal((await log.state(3)).state.epoch, 3);
  } finally {
    await log.close();
    dir.remove();
  }
});

test('sealer: start/stop runs epochs on its timer and stop waits for the running one', async () => {
  await withLog(async (log) => {
    const s = new Script();
    const sl = sealer(log, s);
    sl.start();
    const deadline = Date.now() + 5_000;
    while (log.head().size < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    s.write(0, 1);
    while (log.head().size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await sl.stop();
    assert.equal(log.head().size, 2);
    s.write(0, 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(log.head().size, 2, 'no epoch after stop');
  });
});
