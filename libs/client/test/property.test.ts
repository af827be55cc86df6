// Property tests over random ledgers (fast-check): for any shape of writes and epochs, the honest
// answers verify, and flipping any one bit of any hash-carrying field of a key answer is refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { VerifyError, createVerifyContext, verifyConsistencyAnswer, verifyCheckpointNote, verifyHistoryAnswer, verifyKeyAnswer } from '../src/index.js';
import { FakeCluster, clone, flipBase64 } from './fake-cluster.js';

type Json = Record<string, unknown>;

const ledger = fc.record({
  shards: fc.integer({ min: 1, max: 4 }),
  // Each step: a transaction writing 1..3 of 6 keys, and whether an epoch is sealed after it.
  steps: fc.array(fc.record({ keys: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }), seal: fc.boolean() }), { minLength: 1, maxLength: 24 }),
});

function build(spec: { shards: number; steps: { keys: number[]; seal: boolean }[] }): FakeCluster {
  const c = new FakeCluster({ shards: spec.shards });
  spec.steps.forEach((step, i) => {
    c.write(`tx-${i}`, step.keys.map((k) => ({ key: `key-${k}`, value: { i, k } })), { i });
    if (step.seal) c.seal();
  });
  c.seal();
  return c;
}

const fields: ((a: Json) => [Json, string])[] = [
  (a) => [a['state'] as Json, 'bytes'],
  (a) => [(a['state'] as Json)['entry'] as Json, 'valueHash'],
  (a) => [a['record'] as Json, 'value'],
  (a) => [a['record'] as Json, 'meta'],
  (a) => [(a['record'] as Json)['entry'] as Json, 'valueHash'],
  (a) => [(a['record'] as Json)['entry'] as Json, 'metaHash'],
];

describe('random ledgers', () => {
  it('honest answers verify: latest, time travel, history, consistency between any two states', () => {
    fc.assert(
      fc.property(ledger, fc.integer({ min: 0, max: 5 }), (spec, k) => {
        const c = build(spec);
        const ctx = createVerifyContext({ verifierKey: c.verifierKey, origin: c.origin });
        const key = `key-${k}`;
        const written = spec.steps.filter((s) => s.keys.includes(k)).length;
        if (written === 0) return;
        assert.equal(verifyKeyAnswer(c.keyAnswer(key), ctx, key).record.version, written);
        assert.equal(verifyHistoryAnswer(c.historyAnswer(key), ctx, key).records.length, written);
        const n = c.epochs.length;
        for (let e = 1; e < n; e += 1) {
          verifyConsistencyAnswer(c.consistencyAnswer(e, n), verifyCheckpointNote(c.note(e), ctx), verifyCheckpointNote(c.note(n), ctx), ctx);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('any one bit flipped in any proof element or hashed field of a key answer is refused', () => {
    fc.assert(
      fc.property(ledger, fc.integer({ min: 0, max: 5 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 }), (spec, k, pick, byte, bit) => {
        const c = build(spec);
        const key = `key-${k}`;
        if (!spec.steps.some((s) => s.keys.includes(k))) return;
        const ctx = createVerifyContext({ verifierKey: c.verifierKey, origin: c.origin });
        const answer = clone(c.keyAnswer(key));
        const proofs = [answer['state'] as Json, answer['record'] as Json].flatMap((o) => (o['inclusion'] as string[]).map((_, i) => (a: Json): [Json, string] => [(a[o === answer['state'] ? 'state' : 'record'] as Json)['inclusion'] as Json, String(i)]));
        const choices = [...fields, ...proofs];
        const [target, field] = (choices[pick % choices.length] as (a: Json) => [Json, string])(answer);
        target[field] = flipBase64(target[field] as string, byte, bit);
        assert.throws(() => verifyKeyAnswer(answer, ctx, key), (e: unknown) => e instanceof VerifyError);
      }),
      { numRuns: 200 },
    );
  });
});
