// Edges of the verifier that no honest server produces: sizes of 0, indexes past a size, hashes of
// the wrong length, leaf fields that cannot be encoded, missing or extra shard proofs. Each must be
// refused (never accepted) with a VerifyError, so no answer escapes the signed checkpoint.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { base64Encode, signCheckpoint } from '@cairn/checkpoint';
import { VerifyError, createVerifyContext, verifyCheckpointNote, verifyConsistencyAnswer, verifyKeyAnswer, type VerifyErrorCode } from '../src/index.js';
import { FakeCluster, clone } from './fake-cluster.js';

type Json = Record<string, unknown>;

function refuses(codes: readonly VerifyErrorCode[], fn: () => unknown, what: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof VerifyError, `${what}: expected VerifyError, got ${String(error)}`);
    assert.ok(codes.includes(error.code), `${what}: ${error.code} (${error.message})`);
    return true;
  });
}

const c = new FakeCluster({ shards: 3 });
for (let i = 0; i < 12; i += 1) {
  c.write(`tx-${i}`, [{ key: `{shop${i % 4}}:item`, value: i }, { key: `order:${i}`, value: i }], { i });
  if (i % 3 === 2) c.seal();
}
// One more state in which every shard grows, after one in which every shard has leaves.
c.write('tx-again', Array.from({ length: 12 }, (_, i) => ({ key: `order:${i}`, value: -i })));
c.seal();
const ctx = createVerifyContext({ verifierKey: c.verifierKey, origin: c.origin });
const KEY = '{shop1}:item';
const answer = c.keyAnswer(KEY);
const record = (a: Json): Json => a['record'] as Json;
const entry = (a: Json): Json => record(a)['entry'] as Json;
const state = (a: Json): Json => a['state'] as Json;

describe('verifier edges', () => {
  it('accepts the honest answer (the mutations below are what is refused)', () => {
    assert.equal(verifyKeyAnswer(answer, ctx, KEY).record.key, KEY);
  });

  it('a signed checkpoint of size 0 proves no state', () => {
    const empty = signCheckpoint({ origin: c.origin, size: 0, rootHash: new Uint8Array(32) }, [c.signer]);
    refuses(['inclusion_failed'], () => verifyKeyAnswer({ ...clone(answer), checkpoint: empty }, ctx, KEY), 'size 0');
  });

  it('hashes of the wrong length, in proofs and in leaf fields, are refused', () => {
    const short = base64Encode(new Uint8Array(31));
    const long = base64Encode(new Uint8Array(33));
    for (const [what, mutate] of [
      ['record proof element', (a: Json) => ((record(a)['inclusion'] as string[])[0] = short)],
      ['state proof element', (a: Json) => ((state(a)['inclusion'] as string[])[0] = long)],
      ['erased record valueHash', (a: Json) => Object.assign(record(a), { erased: true, value: null }) && (entry(a)['valueHash'] = short)],
      ['metaHash', (a: Json) => (entry(a)['metaHash'] = long)],
    ] as const) {
      const mutated = clone(answer);
      mutate(mutated);
      refuses(['inclusion_failed', 'entry_mismatch', 'value_mismatch', 'malformed_response'], () => verifyKeyAnswer(mutated, ctx, KEY), what);
    }
  });

  it('leaf fields the encoder cannot hold, and indexes past any tree, are refused', () => {
    for (const [what, mutate] of [
      ['version 0', (a: Json) => (entry(a)['version'] = 0)],
      ['version 2^53', (a: Json) => (entry(a)['version'] = 2 ** 53)],
      ['empty txId', (a: Json) => (entry(a)['txId'] = '')],
      ['leaf index 2^60', (a: Json) => (record(a)['leafIndex'] = 2 ** 60)],
      ['state index 2^53-1', (a: Json) => (state(a)['index'] = Number.MAX_SAFE_INTEGER)],
      ['65 proof hashes', (a: Json) => (state(a)['inclusion'] = Array.from({ length: 65 }, () => base64Encode(new Uint8Array(32))))],
    ] as const) {
      const mutated = clone(answer);
      mutate(mutated);
      refuses(['inclusion_failed', 'entry_mismatch', 'state_mismatch', 'malformed_response'], () => verifyKeyAnswer(mutated, ctx, KEY), what);
    }
  });

  it('a key holding a lone surrogate is never proven (it would share its leaf with U+FFFD)', () => {
    const mutated = clone(answer);
    entry(mutated)['key'] = `${KEY}\ud800`;
    refuses(['entry_mismatch'], () => verifyKeyAnswer(mutated, ctx, `${KEY}\ud800`), 'lone surrogate');
  });

  it('consistency: a shard that grew needs its proof; unknown or repeated shards are refused', () => {
    const n = c.epochs.length;
    const first = c.epochs.findIndex((e) => e.heads.every((h) => h.size > 0)) + 1;
    assert.ok(first >= 1 && first < n, 'a state where every shard has leaves, before the last');
    const older = verifyCheckpointNote(c.note(first), ctx);
    const newer = verifyCheckpointNote(c.note(n), ctx);
    const honest = c.consistencyAnswer(first, n);
    verifyConsistencyAnswer(honest, older, newer, ctx);
    const shards = (a: Json): Json[] => a['shards'] as Json[];
    for (const [what, mutate] of [
      ['no shard proofs', (a: Json) => (a['shards'] = [])],
      ['shard out of range', (a: Json) => ((shards(a)[0] as Json)['shard'] = 3)],
      ['shard repeated', (a: Json) => ((shards(a)[1] as Json)['shard'] = 0)],
      ['one shard too many', (a: Json) => shards(a).push({ shard: 0, proof: [] })],
      ['state-log proof emptied', (a: Json) => (a['proof'] = [])],
    ] as const) {
      const mutated = clone(honest);
      mutate(mutated);
      refuses(['malformed_response', 'consistency_failed', 'fork'], () => verifyConsistencyAnswer(mutated, older, newer, ctx), what);
    }
  });
});
