// storeRefusal must agree with the store: the apply loop queues an append behind another only when
// the one before it passed the check, so a run it passes that the store refuses would let a later
// sequence commit over refused messages. Random runs with fields at and just past the store's
// bounds (small limits here, so that every bound is reachable) go through the wire encoder and
// decoder, as in the shard, then to both.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openStore, type StorageLimits, type Store } from '@cairn/storage';
import { tempDir } from '@cairn/testkit';
import { encodeShardMessage, type TxPart } from '@cairn/wire';
import { isInputError } from '../src/errors.js';
// storeRefusal is internal to the apply loop, not part of the package's API.
import { decodeMessage, runTxs, storeRefusal, type Decoded, type Run } from '../src/plan.js';
import { part } from './pipeline-fixture.js';

const KiB = 1024;
const limits: Partial<StorageLimits> = {
  key_bytes_max: 8,
  tx_id_bytes_max: 8,
  value_bytes_max: 512 * KiB,
  meta_bytes_max: 8,
  batch_txs_max: 3,
  tx_records_max: 10_000,
  batch_records_max: 10_000,
  batch_bytes_max: 1024 * KiB,
};
const utf8 = new TextEncoder();
const dir = tempDir('refusal');
let store: Store | undefined;
after(async () => {
  await store?.close();
  dir.remove();
});

async function theStore(): Promise<Store> {
  store ??= await openStore({ dir: dir.path, limits, pool: false });
  return store;
}

// At and just past each bound, the past ones rarer so that about half the runs are accepted; 'é' is
// two UTF-8 bytes, so lengths in bytes and in chars differ. Two values of 512 KiB pass the value
// bound but not batch_bytes_max.
function edge<T>(within: readonly T[], past: readonly T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 30, arbitrary: fc.constantFrom(...within) }, { weight: 1, arbitrary: fc.constantFrom(...past) });
}
const ids = edge(['a', 'abcdefgh', 'éééé'], ['abcdefghi', 'ééééé']);
const keys = edge(['k', 'kkkkkkkk', 'éééé'], ['kkkkkkkkk', 'ééééé']);
const valueBytes = edge([0, 10, 300 * KiB, 512 * KiB], [512 * KiB + 1]);
const metaBytes = edge([0, 8], [9]);
const expects = edge([undefined, 1, 'absent' as const], [0]);
const record = fc.record({ key: keys, value: valueBytes, expect: expects });
const tx = fc.record({ id: ids, meta: metaBytes, records: fc.array(record, { minLength: 1, maxLength: 2 }) });
const message = fc.array(tx, { minLength: 1, maxLength: 2 });

type TxShape = { id: string; meta: number; records: { key: string; value: number; expect: number | 'absent' | undefined }[] };

function txPart(t: TxShape, n: number): TxPart {
  const base = part(t.id, 'x', String(n));
  const records = t.records.map((r) => ({
    key: r.key,
    value: new Uint8Array(r.value),
    expect: r.expect === undefined ? undefined : r.expect === 'absent' ? { absent: true as const } : { version: r.expect },
  }));
  return { ...base, meta: new Uint8Array(t.meta), records };
}

let nextSeq = 1;
function runOf(messages: readonly TxShape[][]): Run {
  const msgs: Decoded[] = messages.map((txs) => {
    const seq = nextSeq++;
    const data = encodeShardMessage({ shard: 0, txs: txs.map((t, i) => txPart(t, seq * 10 + i)) });
    return decodeMessage({ seq, data }, { shard: 0, shards: 1 });
  });
  return { msgs, seq: (msgs[msgs.length - 1] as Decoded).seq };
}

/**
 * Whether the store accepted the run; throws on anything but an input refusal. A refused run is
 * then appended empty, as the shard does, or the store would abort every later sequence.
 */
async function storeAccepts(run: Run): Promise<boolean> {
  const store = await theStore();
  try {
    await store.append({ seq: run.seq, txs: runTxs(run) });
    return true;
  } catch (error) {
    if (!isInputError(error)) throw error;
    await store.append({ seq: run.seq, txs: [] });
    return false;
  }
}

test('storeRefusal refuses exactly the runs the store refuses', async () => {
  const s = await theStore();
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 2 }), async (messages) => {
      const run = runOf(messages);
      const reason = storeRefusal(run, s.limits);
      const accepted = await storeAccepts(run);
      if (!accepted) refused += 1;
      assert.equal(reason === undefined, accepted, `check says ${reason ?? 'accept'}, store ${accepted ? 'accepted' : 'refused'}`);
    }),
    { numRuns: 150 },
  );
  assert.ok(refused > 15 && refused < 135, `both sides exercised (${refused} of 150 refused)`);
});

test('storeRefusal counts records against tx_records_max and batch_records_max', async () => {
  const s = await theStore();
  const many = (count: number): TxShape => ({ id: 'm', meta: 0, records: Array.from({ length: count }, () => ({ key: 'k', value: 0, expect: undefined })) });
  for (const [shape, accepted] of [
    [[[many(10_000)]], true],
    [[[many(10_001)]], false],
    [[[many(5_000)], [many(5_001)]], false],
  ] as const) {
    const run = runOf(shape.map((m) => [...m]));
    assert.equal(storeRefusal(run, s.limits) === undefined, accepted);
    assert.equal(await storeAccepts(run), accepted);
  }
  assert.ok(utf8.encode('é').length === 2, 'the test relies on é being two bytes');
});
