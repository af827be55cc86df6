import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  CairnError,
  GLOBAL_STATE_FORMAT_V1,
  decodeGlobalState,
  encodeGlobalState,
  encodeLeaf,
  stateLogEntry,
  type GlobalState,
} from '../src/index.js';

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

// Built by hand from the layout in docs/design/proofs.md, not by the encoder under test.
function handBuilt(): { state: GlobalState; bytes: Uint8Array } {
  const rootA = new Uint8Array(32).fill(0xaa);
  const rootB = new Uint8Array(32).fill(0xbb);
  const hex =
    '01' + // tag
    '0002' + '6331' + // origin "c1"
    '0000000000000007' + // epoch 7
    '0000000100000000' + // cut 2^32
    '0002' + // two shards
    '0000000000000003' + 'aa'.repeat(32) +
    '0000000000000000' + 'bb'.repeat(32);
  return {
    state: { origin: 'c1', epoch: 7, cut: 2 ** 32, shards: [{ size: 3, root: rootA }, { size: 0, root: rootB }] },
    bytes: new Uint8Array(Buffer.from(hex, 'hex')),
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CairnError, `expected CairnError, got ${String(error)}`);
    return error.code;
  }
  return 'no error';
}

test('global state: known answer, both directions', () => {
  const { state, bytes } = handBuilt();
  assert.equal(bytes[0], GLOBAL_STATE_FORMAT_V1);
  assert.deepEqual(encodeGlobalState(state), bytes);
  assert.deepEqual(decodeGlobalState(bytes), state);
});

test('global state: every truncation and any trailing byte is refused', () => {
  const { bytes } = handBuilt();
  for (let n = 0; n < bytes.length; n += 1) {
    assert.match(codeOf(() => decodeGlobalState(bytes.subarray(0, n))), /^wire_(truncated|malformed)$/, `prefix of ${n}`);
  }
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.equal(codeOf(() => decodeGlobalState(longer)), 'wire_malformed');
});

test('global state: bad fields are refused on decode', () => {
  const { bytes } = handBuilt();
  const tagged = bytes.slice();
  tagged[0] = 2;
  assert.equal(codeOf(() => decodeGlobalState(tagged)), 'wire_version');
  const epochZero = bytes.slice();
  epochZero.fill(0, 5, 13);
  assert.equal(codeOf(() => decodeGlobalState(epochZero)), 'wire_malformed');
  const huge = bytes.slice();
  huge[5] = 0xff; // epoch above 2^53-1
  assert.equal(codeOf(() => decodeGlobalState(huge)), 'wire_malformed');
  const noShards = bytes.slice();
  noShards[21] = 0;
  noShards[22] = 0;
  assert.equal(codeOf(() => decodeGlobalState(noShards)), 'wire_malformed');
  const badUtf8 = bytes.slice();
  badUtf8[3] = 0xff;
  assert.equal(codeOf(() => decodeGlobalState(badUtf8)), 'wire_malformed');
});

test('global state: bad fields are refused on encode', () => {
  const { state } = handBuilt();
  assert.equal(codeOf(() => encodeGlobalState({ ...state, origin: '' })), 'wire_malformed');
  assert.equal(codeOf(() => encodeGlobalState({ ...state, origin: 'a\nb' })), 'wire_malformed');
  assert.equal(codeOf(() => encodeGlobalState({ ...state, epoch: 0 })), 'wire_malformed');
  assert.equal(codeOf(() => encodeGlobalState({ ...state, cut: 1.5 })), 'wire_malformed');
  assert.equal(codeOf(() => encodeGlobalState({ ...state, shards: [] })), 'wire_malformed');
  assert.equal(codeOf(() => encodeGlobalState({ ...state, shards: [{ size: 1, root: new Uint8Array(31) }] })), 'wire_malformed');
  assert.equal(codeOf(() => encodeGlobalState({ ...state, shards: [{ size: -1, root: new Uint8Array(32) }] })), 'wire_malformed');
});

test('global state: round trip and single-byte changes never decode to the same state', () => {
  const head = fc.record({ size: fc.maxSafeNat(), root: fc.uint8Array({ minLength: 32, maxLength: 32 }) });
  const stateArb = fc.record({
    origin: fc.stringMatching(/^[a-z][a-z0-9./-]{0,40}$/),
    epoch: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    cut: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    shards: fc.array(head, { minLength: 1, maxLength: 8 }),
  });
  fc.assert(
    fc.property(stateArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (state, at, flip) => {
      const bytes = encodeGlobalState(state);
      const plain: GlobalState = { ...state, shards: state.shards.map((h) => ({ size: h.size, root: h.root })) };
      assert.deepEqual(decodeGlobalState(bytes), plain);
      const changed = bytes.slice();
      const i = at % bytes.length;
      changed[i] = (changed[i] as number) ^ flip;
      let decoded: GlobalState | undefined;
      try {
        decoded = decodeGlobalState(changed);
      } catch (error) {
        assert.ok(error instanceof CairnError);
        return;
      }
      assert.notDeepEqual(encodeGlobalState(decoded), bytes);
    }),
    { numRuns: 300 },
  );
});

test('state-log entry: fixed txId, key, version and hashes per the contract', () => {
  const { bytes } = handBuilt();
  const entry = stateLogEntry(7, bytes, sha256);
  assert.equal(entry.txId, 'epoch-7');
  assert.equal(entry.key, 'cairn/state');
  assert.equal(entry.version, 7);
  assert.deepEqual(entry.valueHash, sha256(bytes));
  assert.deepEqual(entry.metaHash, sha256(new TextEncoder().encode('{}')));
  // The default (browser) hasher gives the same entry.
  assert.deepEqual(stateLogEntry(7, bytes), entry);
  assert.ok(encodeLeaf(entry).length > 0);
  assert.equal(codeOf(() => stateLogEntry(0, bytes)), 'wire_malformed');
});
