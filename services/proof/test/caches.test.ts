// The proof service's caches of immutable answers: bounded, least recently used out first, and
// never an answer that differs from a fresh read, also after the state log grew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tempDir } from '@cairn/testkit';
import { shardOfKey } from '@cairn/wire';
import { nodeSha256 } from '../src/answers.js';
import { Answers, Lru, StateLog, STATE_ANSWERS_CACHED_MAX, STATES_CACHED_MAX, type ShardProvenLeaf, type ShardReads, type SignedHead } from '../src/index.js';

test('lru: holds at most entries_max, drops the least recently used, as a naive list model does', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.tuple(fc.constantFrom('get' as const, 'set' as const), fc.integer({ min: 0, max: 8 })), { maxLength: 60 }),
      (max, ops) => {
        const lru = new Lru<number, number>(max);
        let model: [number, number][] = []; // oldest first
        ops.forEach(([op, key], step) => {
          const at = model.findIndex(([k]) => k === key);
          if (op === 'get') {
            const hit = at < 0 ? undefined : model.splice(at, 1)[0];
            if (hit !== undefined) model.push(hit);
            assert.equal(lru.get(key), hit?.[1]);
          } else {
            if (at >= 0) model.splice(at, 1);
            model.push([key, step]);
            if (model.length > max) model = model.slice(1);
            lru.set(key, step);
          }
          assert.ok(lru.size <= max);
          assert.equal(lru.size, model.length);
        });
      },
    ),
  );
  assert.throws(() => new Lru(0), RangeError);
});

test('lru: getOrMake shares a pending value and drops a rejected one so the next call retries', async () => {
  const lru = new Lru<string, Promise<number>>(2);
  let made = 0;
  const make = (): Promise<number> => {
    made += 1;
    return made === 1 ? Promise.reject(new Error('first read fails')) : Promise.resolve(made);
  };
  await assert.rejects(lru.getOrMake('k', make), /first read fails/);
  assert.equal(lru.size, 0, 'a failed read is not kept');
  const [a, b] = await Promise.all([lru.getOrMake('k', make), lru.getOrMake('k', make)]);
  assert.deepEqual([a, b, made], [2, 2, 2], 'two callers at once share one read');
});

const SHARD_SIZE = 5;

/** A shard that always answers the same leaf: only the state part of the answer is under test. */
const reads = {
  provenAt: async (): Promise<ShardProvenLeaf> => ({
    leaf: { leafIndex: 0, entry: { txId: 't', key: '{k}:1', version: 1, valueHash: new Uint8Array(32), metaHash: new Uint8Array(32) }, value: undefined, erased: true },
    inclusion: [],
    meta: new Uint8Array(0),
  }),
} as unknown as ShardReads;

test('answers: the cached state and its inclusion proof are those of a fresh read at every checkpoint, as the log grows past the cache bounds', async () => {
  const dir = tempDir('proof-caches');
  const log = await StateLog.open(dir.path);
  try {
    const answers = new Answers(log, reads, { shards: 1, history_versions_max: 10, tx_records_max: 10, key_bytes_max: 1_024 });
    const epochs = Math.max(STATES_CACHED_MAX, STATE_ANSWERS_CACHED_MAX) + 6;
    for (let epoch = 1; epoch <= epochs; epoch += 1) {
      await log.append({ origin: 'o', epoch, cut: epoch, shards: [{ size: SHARD_SIZE, root: new Uint8Array(32).fill(epoch % 256) }] });
      const head: SignedHead = { size: epoch, root: log.head().root, note: `note ${epoch}\n` };
      // The newest state (what a plain read asks) and an older one at the same checkpoint, each twice:
      // the second read of each is served from the caches.
      for (const at of [epoch, Math.max(1, epoch - 3), epoch, Math.max(1, epoch - 3)]) {
        const answer = (await answers.key(head, '{k}:1', at)) as { state: unknown };
        const fresh = await log.state(at);
        const inclusion = await log.inclusionProof(at - 1, epoch);
        const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
        assert.deepEqual(
          answer.state,
          {
            index: at - 1,
            bytes: b64(fresh.bytes),
            entry: { txId: fresh.entry.txId, key: fresh.entry.key, version: fresh.entry.version, valueHash: b64(fresh.entry.valueHash), metaHash: b64(fresh.entry.metaHash) },
            inclusion: inclusion.map(b64),
          },
          `state ${at} at checkpoint ${epoch}`,
        );
      }
    }
  } finally {
    await log.close();
    dir.remove();
  }
});

test('answers: a key goes to the same shard by node:crypto SHA-256 as by the wire default', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z0-9:._-]{1,40}$/), fc.integer({ min: 1, max: 1_000 }), (tag, shards) => {
      const key = `{${tag}}:k`;
      assert.equal(shardOfKey(key, shards, nodeSha256), shardOfKey(key, shards));
    }),
  );
});
