// The epoch sealer against scripted shards and a scripted stream, on a real state log (RocksDB in a
// temp dir): what is appended, what is skipped, and that a failed or refused epoch writes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateKeyPair, openCheckpoint, parseSignerKey, parseVerifierKey } from '@cairn/checkpoint';
import { leafHash, verifyInclusion } from '@cairn/merkle';
import { tempDir } from '@cairn/testkit';
import { encodeLeaf, stateLogEntry } from '@cairn/wire';
import { Sealer, StateLog, type MarkerPublisher, type ShardReads, type TreeHead } from '../src/index.js';

const ORIGIN = 'unit.cairn/sealer';
const keys = generateKeyPair(ORIGIN);
const SHARDS = 2;

const root = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(label).digest());

/** A stream whose last sequence the test moves, and shards whose heads the test sets. */
class Script implements MarkerPublisher {
  seq = 0;
  published: number[] = [];
  heads: TreeHead[] = [
    { size: 0, root: root('empty') },
    { size: 0, root: root('empty') },
  ];
  asked: number[] = [];
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
  reads(): ShardReads {
    const unused = (): never => {
      throw new Error('not used by the sealer');
    };
    return {
      headAt: async (shard, seq) => {
        this.asked.push(seq);
        if (shard === this.failShard) throw new Error(`shard ${shard} is down`);
        return this.heads[shard] as TreeHead;
      },
      recordAt: unused,
      history: unused,
      transaction: unused,
      meta: unused,
      inclusionProof: unused,
      consistencyProof: unused,
    };
  }
  write(shard: number, size: number): void {
    this.seq += 1;
    this.heads[shard] = { size, root: root(`${shard}/${size}`) };
  }
}

function sealer(log: StateLog, s: Script, problems: string[] = []): Sealer {
  return new Sealer({
    origin: ORIGIN,
    shards: SHARDS,
    signer: parseSignerKey(keys.signerKey),
    log,
    reads: s.reads(),
    markers: s,
    epoch_interval_ms: 10,
    head_timeout_ms: 1_000,
    onProblem: (m) => problems.push(m),
  });
}

function opened(note: string): { size: number; root: Uint8Array } {
  const cp = openCheckpoint(note, [parseVerifierKey(keys.verifierKey)], { origin: ORIGIN }).checkpoint;
  return { size: cp.size, root: cp.rootHash };
}

test('sealer: appends on change, skips idle and unchanged cuts, signs every new head', async () => {
  const dir = tempDir('sealer');
  const log = await StateLog.open(dir.path);
  try {
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
    assert.deepEqual(stored.state.shards[0]?.root, root('0/5'));

    // The signed head is the log's head, and state 2 is its leaf 1 per the contract.
    const cp = opened(sealerA.signed().note);
    assert.equal(cp.size, 2);
    const leaf = leafHash(encodeLeaf(stateLogEntry(2, stored.bytes)));
    verifyInclusion(leaf, 1, 2, await log.inclusionProof(1, 2), cp.root);
  } finally {
    await log.close();
    dir.remove();
  }
});

test('sealer: an epoch a shard does not answer writes nothing, then completes at the same cut', async () => {
  const dir = tempDir('sealer');
  const log = await StateLog.open(dir.path);
  try {
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
  } finally {
    await log.close();
    dir.remove();
  }
});

test('sealer: a shard that went back (rollback) or changed its root (fork) is never sealed', async () => {
  const dir = tempDir('sealer');
  const log = await StateLog.open(dir.path);
  try {
    const s = new Script();
    const problems: string[] = [];
    const sl = sealer(log, s, problems);
    s.write(0, 4);
    assert.equal(await sl.sealOnce(), 'appended');
    s.write(0, 3);
    assert.equal(await sl.sealOnce(), 'failed');
    s.seq += 1;
    s.heads[0] = { size: 4, root: root('forged') };
    assert.equal(await sl.sealOnce(), 'failed');
    assert.equal(log.head().size, 1);
    assert.equal(problems.length, 2);
  } finally {
    await log.close();
    dir.remove();
  }
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
  const dir = tempDir('sealer');
  const log = await StateLog.open(dir.path);
  try {
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
  } finally {
    await log.close();
    dir.remove();
  }
});
