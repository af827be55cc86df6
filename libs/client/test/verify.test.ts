// Every link of the proof chain, against chains built from real trees and real signatures: the
// honest answer verifies, and every single mutation is refused with the code the contract names.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signCheckpoint, base64Encode } from '@cairn/checkpoint';
import { rootHash } from '@cairn/merkle';
import { encodeGlobalState } from '@cairn/wire';
import {
  VerifyError,
  compareCheckpoints,
  createVerifyContext,
  verifyCheckpointNote,
  verifyConsistencyAnswer,
  verifyHistoryAnswer,
  verifyKeyAnswer,
  verifyTransactionAnswer,
  type VerifyErrorCode,
} from '../src/index.js';
import { FakeCluster, clone, flipBase64, keyPair } from './fake-cluster.js';

type Json = Record<string, unknown>;

function refuses(code: VerifyErrorCode, fn: () => unknown, what: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof VerifyError, `${what}: expected VerifyError, got ${String(error)}`);
    assert.equal(error.code, code, `${what}: ${error.message}`);
    return true;
  });
}

function cluster(): FakeCluster {
  const c = new FakeCluster({ shards: 3 });
  for (let i = 0; i < 12; i += 1) {
    c.write(`tx-${i}`, [{ key: `{shop${i % 4}}:item`, value: { n: i, note: 'x'.repeat(i) } }, { key: `order:${i}`, value: i }], { by: 'test', i });
    if (i % 3 === 2) c.seal();
  }
  return c;
}

const base = cluster();
const ctx = createVerifyContext({ verifierKey: base.verifierKey, origin: base.origin });
const KEY = '{shop1}:item';

/** Each byte of a base64 field flipped in turn (a different bit per byte), with the expected code. */
function flipEach(answer: Json, get: (a: Json) => Json, field: string, code: VerifyErrorCode, check: (a: Json) => unknown): number {
  const text = get(answer)[field] as string;
  const length = atob(text).length;
  for (let i = 0; i < length; i += 1) {
    const mutated = clone(answer);
    get(mutated)[field] = flipBase64(text, i, i % 8);
    refuses(code, () => check(mutated), `${field} byte ${i}`);
  }
  return length;
}

function flipProof(answer: Json, get: (a: Json) => Json, code: VerifyErrorCode, check: (a: Json) => unknown): number {
  const proof = get(answer)['inclusion'] as string[];
  let count = 0;
  proof.forEach((_, element) => {
    for (let i = 0; i < 32; i += 1) {
      const mutated = clone(answer);
      const p = get(mutated)['inclusion'] as string[];
      p[element] = flipBase64(p[element] as string, i, (i + element) % 8);
      refuses(code, () => check(mutated), `proof element ${element} byte ${i}`);
      count += 1;
    }
  });
  return count;
}

describe('key answer', () => {
  const answer = base.keyAnswer(KEY);
  const check = (a: Json): unknown => verifyKeyAnswer(a, ctx, KEY);
  const state = (a: Json): Json => a['state'] as Json;
  const record = (a: Json): Json => a['record'] as Json;

  it('verifies the honest answer and returns what was written', () => {
    const verified = verifyKeyAnswer(answer, ctx, KEY);
    assert.equal(verified.record.key, KEY);
    assert.equal(verified.record.version, 3);
    assert.equal(verified.checkpoint.size, base.epochs.length);
    assert.equal(verified.state.state.epoch, base.epochs.length);
    assert.equal(new TextDecoder().decode(verified.record.value ?? new Uint8Array()), '{"n":9,"note":"xxxxxxxxx"}');
  });

  it('refuses every byte flip of the state inclusion proof (inclusion_failed)', () => {
    assert.ok(flipProof(answer, state, 'inclusion_failed', check) >= 64);
  });

  it('refuses every byte flip of the record inclusion proof (inclusion_failed)', () => {
    assert.ok(flipProof(answer, record, 'inclusion_failed', check) >= 64);
  });

  it('refuses a proof with an element dropped or added', () => {
    for (const get of [state, record]) {
      const shorter = clone(answer);
      (get(shorter)['inclusion'] as string[]).pop();
      refuses('inclusion_failed', () => check(shorter), 'dropped');
      const longer = clone(answer);
      (get(longer)['inclusion'] as string[]).push(base64Encode(new Uint8Array(32)));
      refuses('inclusion_failed', () => check(longer), 'added');
    }
  });

  it('refuses every byte flip of the global state bytes and of its entry (state_mismatch)', () => {
    flipEach(answer, state, 'bytes', 'state_mismatch', check);
    const entry = (a: Json): Json => state(a)['entry'] as Json;
    flipEach(answer, entry, 'valueHash', 'state_mismatch', check);
    flipEach(answer, entry, 'metaHash', 'state_mismatch', check);
    for (const [field, value] of [['txId', 'epoch-1'], ['key', 'cairn/other'], ['version', 1]] as const) {
      const mutated = clone(answer);
      entry(mutated)[field] = value;
      refuses('state_mismatch', () => check(mutated), `state entry ${field}`);
    }
  });

  it('refuses a state index that is not the state proven (state_mismatch or inclusion_failed)', () => {
    const mutated = clone(answer);
    state(mutated)['index'] = (state(mutated)['index'] as number) - 1;
    refuses('state_mismatch', () => check(mutated), 'index - 1');
  });

  it('refuses an older state than the checkpoint for a "latest" read (state_mismatch)', () => {
    const older = clone(answer);
    older['state'] = base.stateJson(base.epochs.length - 1);
    refuses('state_mismatch', () => check(older), 'older state');
  });

  it('refuses every byte flip of the value and the meta (value_mismatch)', () => {
    flipEach(answer, record, 'value', 'value_mismatch', check);
    flipEach(answer, record, 'meta', 'value_mismatch', check);
    const entry = (a: Json): Json => record(a)['entry'] as Json;
    flipEach(answer, entry, 'valueHash', 'value_mismatch', check);
    flipEach(answer, entry, 'metaHash', 'value_mismatch', check);
  });

  it('refuses a changed leaf field (inclusion_failed): version, txId, leaf index', () => {
    const entry = (a: Json): Json => record(a)['entry'] as Json;
    for (const mutate of [
      (a: Json) => (entry(a)['version'] = 2),
      (a: Json) => (entry(a)['txId'] = 'tx-0'),
      (a: Json) => (record(a)['leafIndex'] = (record(a)['leafIndex'] as number) + 1),
      (a: Json) => (record(a)['leafIndex'] = (record(a)['leafIndex'] as number) - 1),
    ]) {
      const mutated = clone(answer);
      mutate(mutated);
      refuses('inclusion_failed', () => check(mutated), 'leaf field');
    }
  });

  it("refuses another key's proven record (entry_mismatch): what a bad key index would serve", () => {
    const other = base.keyAnswer('{shop1}:item');
    assert.throws(() => verifyKeyAnswer(other, ctx, '{shop2}:item'), (e: unknown) => e instanceof VerifyError && e.code === 'entry_mismatch');
    const sameShard = Array.from({ length: 40 }, (_, i) => `order:${i % 12}`).find((k) => base.shardOf(k) === base.shardOf(KEY));
    assert.ok(sameShard !== undefined);
    refuses('entry_mismatch', () => verifyKeyAnswer(base.keyAnswer(sameShard), ctx, KEY), 'same-shard key');
  });

  it('refuses a record claimed on the wrong shard (entry_mismatch)', () => {
    const mutated = clone(answer);
    record(mutated)['shard'] = ((record(mutated)['shard'] as number) + 1) % 3;
    refuses('entry_mismatch', () => check(mutated), 'shard');
  });

  it('refuses non-canonical base64, wrong types and missing fields (malformed_response)', () => {
    for (const mutate of [
      (a: Json) => ((record(a)['inclusion'] as string[])[0] = '!!'),
      (a: Json) => (record(a)['leafIndex'] = -1),
      (a: Json) => (record(a)['leafIndex'] = '3'),
      (a: Json) => delete record(a)['meta'],
      (a: Json) => (record(a)['erased'] = true),
      (a: Json) => (state(a)['inclusion'] = 'x'),
      (a: Json) => (a['checkpoint'] = 42),
      (a: Json) => (a['state'] = null),
    ]) {
      const mutated = clone(answer);
      mutate(mutated);
      refuses('malformed_response', () => check(mutated), 'shape');
    }
  });

  it('time travel: the version as of an older state, proven into the newest checkpoint', () => {
    const at = verifyKeyAnswer(base.keyAnswer(KEY, 1), ctx, KEY, 1);
    assert.equal(at.state.state.epoch, 1);
    assert.equal(at.record.version, 1);
    assert.equal(at.checkpoint.size, base.epochs.length);
    refuses('state_mismatch', () => verifyKeyAnswer(base.keyAnswer(KEY, 2), ctx, KEY, 1), 'state 2 for at=1');
  });
});

describe('checkpoint', () => {
  const answer = base.keyAnswer(KEY);
  const note = answer['checkpoint'] as string;

  it('verifies with the pinned key', () => {
    const cp = verifyCheckpointNote(note, ctx);
    assert.equal(cp.size, base.epochs.length);
  });

  it('refuses every byte flip of the signature (bad_signature)', () => {
    const [text, sigLine] = note.split('\n\n') as [string, string];
    const [dash, name, sig] = sigLine.trimEnd().split(' ') as [string, string, string];
    for (let i = 4; i < 68; i += 1) {
      const flipped = `${text}\n\n${dash} ${name} ${flipBase64(sig, i, i % 8)}\n`;
      refuses('bad_signature', () => verifyCheckpointNote(flipped, ctx), `signature byte ${i}`);
    }
  });

  it('refuses a changed size or root line under the old signature (bad_signature)', () => {
    const lines = note.split('\n');
    const resized = [lines[0], String(Number(lines[1]) + 1), ...lines.slice(2)].join('\n');
    refuses('bad_signature', () => verifyCheckpointNote(resized, ctx), 'size');
    const rerooted = [lines[0], lines[1], flipBase64(lines[2] as string, 5), ...lines.slice(3)].join('\n');
    refuses('bad_signature', () => verifyCheckpointNote(rerooted, ctx), 'root');
  });

  it('refuses a checkpoint signed by another key (unknown_key), even with the right origin', () => {
    const other = keyPair('cairn-test', 9);
    const forged = signCheckpoint({ origin: base.origin, size: 1, rootHash: rootHash(base.stateLeaves.slice(0, 1)) }, [other.signer]);
    refuses('unknown_key', () => verifyCheckpointNote(forged, ctx), 'other key');
    const otherCtx = createVerifyContext({ verifierKey: other.verifierKey, origin: base.origin });
    refuses('unknown_key', () => verifyKeyAnswer(answer, otherCtx, KEY), 'answer under another pinned key');
  });

  it('refuses a checkpoint of another origin signed by the pinned key (state_mismatch)', () => {
    const foreign = signCheckpoint({ origin: 'other.example/cluster', size: 1, rootHash: rootHash(base.stateLeaves.slice(0, 1)) }, [base.signer]);
    refuses('state_mismatch', () => verifyCheckpointNote(foreign, ctx), 'origin');
  });

  it('refuses a global state naming another origin, even when properly included (state_mismatch)', () => {
    const c = new FakeCluster({ origin: 'a.example/x' });
    c.write('t', [{ key: 'k', value: 1 }]);
    c.seal();
    const wrongCtx = createVerifyContext({ verifierKey: c.verifierKey, origin: 'a.example/x' });
    // Re-sign a state log whose only state names another origin, under the right checkpoint origin.
    const bytes = encodeGlobalState({ origin: 'b.example/y', epoch: 1, cut: 1, shards: c.epochs[0]?.heads ?? [] });
    const answer = clone(c.keyAnswer('k'));
    const stateJson = answer['state'] as Json;
    stateJson['bytes'] = base64Encode(bytes);
    refuses('state_mismatch', () => verifyKeyAnswer(answer, wrongCtx, 'k'), 'foreign state');
  });
});

describe('history and transactions', () => {
  it('verifies versions 1..n in order', () => {
    const h = verifyHistoryAnswer(base.historyAnswer(KEY), ctx, KEY);
    assert.deepEqual(h.records.map((r) => r.version), [1, 2, 3]);
  });

  it('refuses swapped, missing, duplicated or foreign versions (entry_mismatch)', () => {
    const answer = base.historyAnswer(KEY);
    const records = (a: Json): unknown[] => a['records'] as unknown[];
    const swapped = clone(answer);
    const [a, b] = records(swapped);
    records(swapped)[0] = b;
    records(swapped)[1] = a;
    refuses('entry_mismatch', () => verifyHistoryAnswer(swapped, ctx, KEY), 'swapped');
    const missing = clone(answer);
    records(missing).splice(1, 1);
    refuses('entry_mismatch', () => verifyHistoryAnswer(missing, ctx, KEY), 'missing');
    const doubled = clone(answer);
    records(doubled)[1] = records(doubled)[0];
    refuses('entry_mismatch', () => verifyHistoryAnswer(doubled, ctx, KEY), 'doubled');
    const foreign = clone(answer);
    records(foreign)[2] = (base.keyAnswer('{shop1}:item') as Json)['record'];
    const otherShard = base.historyAnswer('{shop2}:item');
    refuses('entry_mismatch', () => verifyHistoryAnswer(otherShard, ctx, KEY), 'foreign key');
    const empty = clone(answer);
    empty['records'] = [];
    refuses('malformed_response', () => verifyHistoryAnswer(empty, ctx, KEY), 'empty');
  });

  it('verifies a cross-shard transaction, every record carrying its id', () => {
    const id = Array.from({ length: 12 }, (_, i) => `tx-${i}`).find((t) => {
      const i = Number(t.slice(3));
      return base.shardOf(`{shop${i % 4}}:item`) !== base.shardOf(`order:${i}`);
    });
    assert.ok(id !== undefined, 'fixture has a cross-shard transaction');
    const tx = verifyTransactionAnswer(base.txAnswer(id) as Json, ctx, id);
    assert.equal(new Set(tx.records.map((r) => r.shard)).size, 2);
    const otherId = id === 'tx-1' ? 'tx-2' : 'tx-1';
    refuses('entry_mismatch', () => verifyTransactionAnswer(base.txAnswer(id) as Json, ctx, otherId), 'other id');
    const mixed = clone(base.txAnswer(id) as Json);
    (mixed['records'] as unknown[])[1] = ((base.txAnswer(otherId) as Json)['records'] as unknown[])[1];
    refuses('entry_mismatch', () => verifyTransactionAnswer(mixed, ctx, id), 'foreign record');
    const doubled = clone(base.txAnswer(id) as Json);
    (doubled['records'] as unknown[])[1] = (doubled['records'] as unknown[])[0];
    refuses('entry_mismatch', () => verifyTransactionAnswer(doubled, ctx, id), 'same key twice');
  });
});

describe('consistency', () => {
  const n = base.epochs.length;
  const older = verifyCheckpointNote(base.note(1), ctx);
  const newer = verifyCheckpointNote(base.note(n), ctx);

  it('verifies the state log and every shard between two states', () => {
    const v = verifyConsistencyAnswer(base.consistencyAnswer(1, n), older, newer, ctx);
    assert.equal(v.from.state.epoch, 1);
    assert.equal(v.to.state.epoch, n);
  });

  it('refuses every byte flip of the state-log consistency proof (fork)', () => {
    const answer = base.consistencyAnswer(1, n);
    const proof = answer['proof'] as string[];
    assert.ok(proof.length > 0);
    proof.forEach((element, e) => {
      for (let i = 0; i < 32; i += 1) {
        const mutated = clone(answer);
        (mutated['proof'] as string[])[e] = flipBase64(element, i, i % 8);
        refuses('fork', () => verifyConsistencyAnswer(mutated, older, newer, ctx), `proof ${e} byte ${i}`);
      }
    });
  });

  it("refuses every byte flip of every shard's consistency proof (consistency_failed)", () => {
    const answer = base.consistencyAnswer(1, n);
    let flips = 0;
    (answer['shards'] as { proof: string[] }[]).forEach((s, shard) => {
      s.proof.forEach((element, e) => {
        for (let i = 0; i < 32; i += 1) {
          const mutated = clone(answer);
          ((mutated['shards'] as { proof: string[] }[])[shard] as { proof: string[] }).proof[e] = flipBase64(element, i, i % 8);
          refuses('consistency_failed', () => verifyConsistencyAnswer(mutated, older, newer, ctx), `shard ${shard} proof ${e} byte ${i}`);
          flips += 1;
        }
      });
    });
    assert.ok(flips >= 32);
  });

  it('refuses swapped from/to states (state_mismatch) and flipped state bytes', () => {
    const answer = base.consistencyAnswer(1, n);
    const swapped = clone(answer);
    swapped['from'] = answer['to'];
    swapped['to'] = answer['from'];
    refuses('state_mismatch', () => verifyConsistencyAnswer(swapped, older, newer, ctx), 'swapped');
    const flipped = clone(answer);
    (flipped['from'] as Json)['bytes'] = flipBase64((answer['from'] as Json)['bytes'] as string, 30);
    refuses('state_mismatch', () => verifyConsistencyAnswer(flipped, older, newer, ctx), 'from bytes');
  });

  it('same size, other root: fork; a rewritten shard under an honest-looking state log: consistency_failed; a shrunk shard: rollback', () => {
    // Fork: a second log with the same size and another history, signed by the same key.
    const forked = new FakeCluster({ signer: base.signer, verifierKey: base.verifierKey });
    forked.write('evil', [{ key: 'k', value: 1 }]);
    for (let i = 0; i < n; i += 1) forked.seal();
    const forkedCp = verifyCheckpointNote(forked.note(n), ctx);
    refuses('fork', () => compareCheckpoints(newer, forkedCp), 'same size');
    // The forked log cannot prove consistency with the honest size-1 checkpoint.
    refuses('fork', () => verifyConsistencyAnswer(forked.consistencyAnswer(1, n), older, forkedCp, ctx), 'fork proof');

    // Shard rewrite: same writes, then one old leaf of shard 0 replaced; the log itself is append-only.
    const rewritten = cluster();
    const s0 = rewritten.shards[0];
    assert.ok(s0 !== undefined && s0.leaves.length > 0);
    const first = rewritten.epochs.findIndex((e) => (e.heads[0]?.size ?? 0) > 0) + 1;
    s0.leaves[0] = new Uint8Array(32).fill(1);
    rewritten.seal();
    const last = rewritten.epochs.length;
    const a = verifyCheckpointNote(rewritten.note(first), ctx);
    const b = verifyCheckpointNote(rewritten.note(last), ctx);
    refuses('consistency_failed', () => verifyConsistencyAnswer(rewritten.consistencyAnswer(first, last), a, b, ctx), 'rewritten shard');

    // Shrink: a shard that lost leaves (a restored old copy) in a later state.
    const shrunk = cluster();
    const s1 = shrunk.shards[1] as { leaves: Uint8Array[] };
    const before = shrunk.epochs.length;
    s1.leaves.splice(s1.leaves.length - 2, 2);
    shrunk.seal();
    const c1 = verifyCheckpointNote(shrunk.note(before), ctx);
    const c2 = verifyCheckpointNote(shrunk.note(before + 1), ctx);
    refuses('rollback', () => verifyConsistencyAnswer(shrunk.consistencyAnswer(before, before + 1), c1, c2, ctx), 'shrunk shard');
  });
});
