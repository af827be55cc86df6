import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  CairnError,
  canonicalJson,
  canonicalJsonBytes,
  errorCodes,
  errorStatus,
  hashTag,
  shardOfKey,
  shardOfTag,
  txLimitsDefault,
  validateBatchEnvelope,
  validateTransaction,
  type Sha256,
  type TxLimits,
} from '../src/index.js';

const nodeSha256: Sha256 = (d) => new Uint8Array(createHash('sha256').update(d).digest());
const opts = { limits: txLimitsDefault, shardCount: 4 };
const text = new TextDecoder();

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CairnError) return e.code;
    throw e;
  }
  return 'no error';
}

// Naive reference: recursive, sorts keys, relies on JSON.stringify for leaves. Tests only.
function naiveCanonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(naiveCanonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${naiveCanonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

test('canonical JSON equals the naive reference and is a fixed point of parse', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
      const c = canonicalJson(v, 64);
      assert.equal(c, naiveCanonical(v));
      assert.equal(canonicalJson(JSON.parse(c), 64), c);
    }),
  );
});

test('canonical JSON does not depend on key order or whitespace', () => {
  const a = JSON.parse('{ "b": [1, 2, {"y": 1, "x": 2}], "a": "\\u00e9", "c": null }');
  const b = JSON.parse('{"c":null,"a":"é","b":[1,2,{"x":2,"y":1}]}');
  assert.equal(canonicalJson(a, 8), canonicalJson(b, 8));
  assert.equal(canonicalJson(a, 8), '{"a":"é","b":[1,2,{"x":2,"y":1}],"c":null}');
  assert.equal(text.decode(canonicalJsonBytes({ n: 1e21, m: -0, f: 0.1 })), '{"f":0.1,"m":0,"n":1e+21}');
});

test('canonical JSON refuses depth, lone surrogates and non-JSON values', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 40; i++) deep = [deep];
  assert.equal(code(() => canonicalJson(deep, 32)), 'json_too_deep');
  assert.doesNotThrow(() => canonicalJson(deep, 40));
  assert.equal(code(() => canonicalJson({ a: '\ud800' }, 8)), 'bad_unicode');
  assert.equal(code(() => canonicalJson({ ['\udc00']: 1 }, 8)), 'bad_unicode');
  assert.equal(code(() => canonicalJson(Number.NaN, 8)), 'wrong_type');
  assert.equal(code(() => canonicalJson({ a: undefined }, 8)), 'wrong_type');
  assert.equal(code(() => canonicalJson(new Date(0), 8)), 'wrong_type');
});

test('hash tags: Redis rule, strict about malformed tags', () => {
  assert.equal(hashTag('{shop42}:order:1001'), 'shop42');
  assert.equal(hashTag('order:{shop42}:x{y}'), 'shop42');
  assert.equal(hashTag('plain:key'), 'plain:key');
  assert.equal(hashTag('a}b'), 'a}b');
  assert.equal(hashTag('{a{b}c'), 'a{b');
  assert.equal(code(() => hashTag('{}x')), 'bad_hash_tag');
  assert.equal(code(() => hashTag('x{y')), 'bad_hash_tag');
});

test('keys with the same tag share a shard; shards spread and are stable', () => {
  assert.equal(shardOfKey('{shop42}:order:1', 16), shardOfKey('{shop42}:payment:9', 16));
  assert.equal(shardOfKey('{shop42}:a', 16), shardOfTag('shop42', 16));
  // Pinned: changing the function re-shards every cluster. SHA-256("shop42") starts 0x...
  const d = nodeSha256(new TextEncoder().encode('shop42'));
  const first8 = BigInt(`0x${Buffer.from(d.subarray(0, 8)).toString('hex')}`);
  for (const n of [1, 2, 3, 7, 16, 1000]) assert.equal(shardOfTag('shop42', n), Number(first8 % BigInt(n)));
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 1000 }), (tag, n) => {
      const e = nodeSha256(new TextEncoder().encode(tag));
      const want = Number(BigInt(`0x${Buffer.from(e.subarray(0, 8)).toString('hex')}`) % BigInt(n));
      assert.equal(shardOfTag(tag, n), want);
      assert.equal(shardOfTag(tag, n, nodeSha256), want);
    }),
  );
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[shardOfKey(`k${i}`, 4)]! += 1;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `uneven spread ${counts.join(',')}`);
  assert.throws(() => shardOfTag('x', 0), RangeError);
  assert.throws(() => shardOfTag('x', 1001), RangeError);
});

test('a valid transaction: canonical bytes, shards, content hash independent of id and key order in values', () => {
  const a = validateTransaction(
    { id: 'order-1', records: [{ key: '{s}:a', value: { y: 1, x: [true, null] } }], meta: { z: 1, a: 2 } },
    opts,
  );
  assert.equal(a.id, 'order-1');
  assert.equal(text.decode(a.meta), '{"a":2,"z":1}');
  assert.equal(text.decode(a.records[0]!.value), '{"x":[true,null],"y":1}');
  assert.deepEqual(a.shards, [shardOfTag('s', 4)]);
  const b = validateTransaction({ records: [{ key: '{s}:a', value: { x: [true, null], y: 1 } }], meta: { a: 2, z: 1 } }, { ...opts, sha256: nodeSha256 });
  assert.deepEqual(b.contentHash, a.contentHash);
  const c = validateTransaction({ records: [{ key: '{s}:a', value: { x: [true, null], y: 2 } }], meta: { a: 2, z: 1 } }, opts);
  assert.notDeepEqual(c.contentHash, a.contentHash);
  const noMeta = validateTransaction({ records: [{ key: 'k', value: 1 }] }, opts);
  const emptyMeta = validateTransaction({ records: [{ key: 'k', value: 1 }], meta: {} }, opts);
  assert.deepEqual(noMeta.contentHash, emptyMeta.contentHash);
  const withExpect = validateTransaction({ records: [{ key: 'k', value: 1, expect: { version: 3 } }] }, opts);
  assert.notDeepEqual(withExpect.contentHash, noMeta.contentHash);
});

test('content hash: any change of content changes it (property)', () => {
  const arbTx = fc.record({
    records: fc.uniqueArray(fc.record({ key: fc.stringMatching(/^[a-z]{1,6}$/), value: fc.jsonValue({ maxDepth: 2 }) }), {
      minLength: 1,
      maxLength: 4,
      selector: (r) => r.key,
    }),
    meta: fc.dictionary(fc.stringMatching(/^[a-z]{1,3}$/), fc.integer()),
  });
  fc.assert(
    fc.property(arbTx, arbTx, (x, y) => {
      const hx = validateTransaction(x, opts).contentHash;
      const hy = validateTransaction(y, opts).contentHash;
      const same = canonicalJson(x, 64) === canonicalJson(y, 64);
      assert.equal(Buffer.from(hx).equals(Buffer.from(hy)), same);
    }),
  );
});

test('every transaction validation error has its code', () => {
  const small: TxLimits = { ...txLimitsDefault, key_bytes_max: 8, value_bytes_max: 8, meta_bytes_max: 8, tx_records_max: 3, tx_bytes_max: 20, id_bytes_max: 4 };
  const v = (tx: unknown): string => code(() => validateTransaction(tx, { limits: small, shardCount: 64 }));
  const r = (o: Record<string, unknown>): unknown => ({ records: [{ key: 'k', value: 1, ...o }] });
  assert.equal(v([]), 'wrong_type');
  assert.equal(v({ records: {} }), 'wrong_type');
  assert.equal(v({ records: [], x: 1 }), 'wrong_type');
  assert.equal(v({ records: [] }), 'empty_records');
  assert.equal(v({ records: [1, 2, 3, 4] }), 'too_many_records');
  assert.equal(v({ id: 5, records: [{ key: 'k', value: 1 }] }), 'wrong_type');
  assert.equal(v({ id: 'a b', records: [{ key: 'k', value: 1 }] }), 'invalid_id');
  assert.equal(v({ id: '~x', records: [{ key: 'k', value: 1 }] }), 'invalid_id');
  assert.equal(v({ id: 'abcde', records: [{ key: 'k', value: 1 }] }), 'invalid_id');
  assert.equal(v(r({ key: 1 })), 'wrong_type');
  assert.equal(v(r({ key: '' })), 'invalid_key');
  assert.equal(v(r({ key: 'a\nb' })), 'invalid_key');
  assert.equal(v(r({ key: 'a\u0085' })), 'invalid_key');
  assert.equal(v(r({ key: '\ud800' })), 'bad_unicode');
  assert.equal(v(r({ key: 'ééééé' })), 'key_too_large');
  assert.equal(v(r({ key: '{}a' })), 'bad_hash_tag');
  assert.equal(v(r({ key: '{a' })), 'bad_hash_tag');
  assert.equal(v(r({ value: undefined })), 'wrong_type');
  assert.equal(v({ records: [{ key: 'k' }] }), 'wrong_type');
  assert.equal(v(r({ value: '123456789' })), 'value_too_large');
  assert.equal(v(r({ other: 1 })), 'wrong_type');
  assert.equal(v(r({ expect: { version: 0 } })), 'bad_expect');
  assert.equal(v(r({ expect: { version: 1.5 } })), 'bad_expect');
  assert.equal(v(r({ expect: { absent: false } })), 'bad_expect');
  assert.equal(v(r({ expect: { absent: true, version: 1 } })), 'bad_expect');
  assert.equal(v(r({ expect: 'absent' })), 'bad_expect');
  assert.equal(v({ records: [{ key: 'k', value: 1 }], meta: [] }), 'wrong_type');
  assert.equal(v({ records: [{ key: 'k', value: 1 }], meta: null }), 'wrong_type', 'null is not absent: it would hash like {}');
  assert.equal(v({ records: [{ key: 'k', value: 1 }], meta: { abcdefgh: 1 } }), 'meta_too_large');
  assert.equal(v({ records: [{ key: 'k', value: 1 }, { key: 'k', value: 2 }] }), 'duplicate_key');
  assert.equal(v({ records: [{ key: 'k1', value: '12345' }, { key: 'k2', value: '12345' }, { key: 'k3', value: '1' }] }), 'tx_too_large');
  // Two tags on different shards (with 64 shards), one of them conditional.
  let other = 'b';
  for (let i = 0; shardOfKey(other, 64) === shardOfKey('a', 64); i++) other = `b${i}`;
  assert.equal(v({ records: [{ key: 'a', value: 1, expect: { absent: true } }, { key: other, value: 1 }] }), 'precondition_cross_shard');
  assert.equal(v({ records: [{ key: '{t}a', value: 1, expect: { absent: true } }, { key: '{t}b', value: 1 }] }), 'no error');
});

test('errors name the path of the offending value', () => {
  const path = (tx: unknown): string | undefined => {
    try {
      validateTransaction(tx, opts);
    } catch (e) {
      if (e instanceof CairnError) return e.path;
    }
    return undefined;
  };
  assert.equal(path({ records: [{ key: 'k', value: 1 }, { key: 'j', value: { a: [1, '\ud800'] } }] }), 'records[1].value.a[1]');
  assert.equal(path({ records: [{ key: 'k', value: 1 }], meta: { x: { y: Number.NaN } } }), 'meta.x.y');
  assert.equal(path({ records: [{ key: 'k', value: 'x' }, { key: '', value: 1 }] }), 'records[1].key');
});

test('batch envelope errors', () => {
  const limits = { ...txLimitsDefault, request_txs_max: 2 };
  assert.equal(code(() => validateBatchEnvelope([], limits)), 'wrong_type');
  assert.equal(code(() => validateBatchEnvelope({ transactions: 1 }, limits)), 'wrong_type');
  assert.equal(code(() => validateBatchEnvelope({ transactions: [], more: 1 }, limits)), 'wrong_type');
  assert.equal(code(() => validateBatchEnvelope({ transactions: [] }, limits)), 'empty_batch');
  assert.equal(code(() => validateBatchEnvelope({ transactions: [1, 2, 3] }, limits)), 'batch_too_large');
  assert.equal(validateBatchEnvelope({ transactions: [1, 2] }, limits).length, 2);
});

test('error table: every code has a status, codes are unique, errors carry code and status', () => {
  assert.equal(new Set(errorCodes).size, errorCodes.length);
  assert.deepEqual(Object.keys(errorStatus).sort(), [...errorCodes].sort());
  const e = new CairnError('backpressure', 'full', { retryAfterSeconds: 2, cause: new Error('x') });
  assert.equal(e.status, 503);
  assert.equal(e.retryAfterSeconds, 2);
  assert.ok(e.cause instanceof Error);
});
