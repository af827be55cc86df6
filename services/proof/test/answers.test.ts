// Answers made of many shard reads: a read that fails ends the answer, and nothing of it keeps
// running after it (the request's slot is given back only then). Scripted shards, a real state log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '@cairn/testkit';
import { CairnError } from '@cairn/wire';
import { Answers, StateLog, type ShardReads, type SignedHead } from '../src/index.js';

const VERSIONS = 2_000;

test('answers: a shard read that fails stops a long history; no read starts after the answer', async () => {
  const dir = tempDir('proof-answers');
  const log = await StateLog.open(dir.path);
  try {
    await log.append({ origin: 'o', epoch: 1, cut: 1, shards: [{ size: VERSIONS, root: new Uint8Array(32) }] });
    const head: SignedHead = { size: 1, root: log.head().root, note: 'note 1\n' };
    let started = 0;
    let answered = false;
    let startedAfter = 0;
    const entry = { txId: 't', key: '{k}:1', valueHash: new Uint8Array(32), metaHash: new Uint8Array(32) };
    const reads = {
      history: async () => Array.from({ length: VERSIONS }, (_, i) => ({ leafIndex: i, entry: { ...entry, version: i + 1 }, value: undefined, erased: true })),
      meta: async () => new Uint8Array(0),
      inclusionProof: async (_shard: number, index: number) => {
        started += 1;
        if (answered) startedAfter += 1;
        if (index === 0) throw new CairnError('backpressure', 'shard busy', { retryAfterSeconds: 1 });
        await new Promise((resolve) => setTimeout(resolve, 2));
        return [];
      },
    } as unknown as ShardReads;
    const answers = new Answers(log, reads, { shards: 1, history_versions_max: VERSIONS, tx_records_max: 10, key_bytes_max: 1_024 });
    await assert.rejects(answers.history(head, '{k}:1', undefined), (e: unknown) => e instanceof CairnError && e.code === 'backpressure');
    answered = true;
    const atAnswer = started;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(startedAfter, 0, `${startedAfter} shard reads started after the answer`);
    assert.ok(atAnswer < 100, `${atAnswer} reads for an answer that failed at the first`);
  } finally {
    await log.close();
    dir.remove();
  }
});
