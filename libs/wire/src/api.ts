// The HTTP write API's JSON shapes, their validator, canonical JSON, the transaction content hash
// and the key -> shard function. Everything here is pure and browser-safe so that the SDK, the
// ingest gateway and the shards compute byte-identical results. Reasons: docs/design/ingest.md,
// byte formats: docs/wire.md.
import { nobleHasher } from '@cairn/merkle';
import { CairnError, type ErrorCode } from './errors.js';

export type Sha256 = (data: Uint8Array) => Uint8Array;

// Browser-safe default. Servers pass node:crypto's SHA-256 (same bytes, about 2x faster).
export const defaultSha256: Sha256 = (data) => nobleHasher.sha256(data);

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type Expect = { version: number } | { absent: true };

export interface RecordInput {
  key: string;
  value: JsonValue;
  expect?: Expect;
}

export interface TransactionInput {
  id?: string;
  records: RecordInput[];
  meta?: JsonObject;
}

export interface BatchInput {
  transactions: TransactionInput[];
}

// Named bounds on what one transaction may hold. Units last. Defaults in txLimitsDefault.
export interface TxLimits {
  readonly id_bytes_max: number;
  readonly key_bytes_max: number;
  readonly value_bytes_max: number;
  readonly meta_bytes_max: number;
  readonly tx_records_max: number;
  // Sum of key, value and meta bytes of one transaction; keeps every shard message under the
  // broker's max_payload (see the ingest's config check).
  readonly tx_bytes_max: number;
  readonly json_depth_max: number;
  readonly request_txs_max: number;
}

export const txLimitsDefault: TxLimits = {
  id_bytes_max: 128,
  key_bytes_max: 1024,
  value_bytes_max: 65_536,
  meta_bytes_max: 4_096,
  tx_records_max: 10_000,
  tx_bytes_max: 524_288,
  json_depth_max: 32,
  request_txs_max: 1_000,
};

// Versions are safe integers: 2^53-1 writes to one key will not happen, and JSON numbers above it
// would silently lose precision.
export const versionMax = Number.MAX_SAFE_INTEGER;
export const shardCountMax = 1_000; // one message per shard per atomic batch, and a batch holds <= 1,000

function fail(code: ErrorCode, message: string, path?: string): never {
  throw new CairnError(code, message, path === undefined ? {} : { path });
}

interface WellFormed {
  isWellFormed(): boolean;
}

// A lone surrogate would be encoded as U+FFFD in UTF-8, so two different strings would hash the
// same; such strings are refused rather than silently merged.
export function isWellFormedString(s: string): boolean {
  return (s as unknown as WellFormed).isWellFormed();
}

// ---------------------------------------------------------------------------------------------
// Canonical JSON: object keys sorted by UTF-16 code units (Array.prototype.sort's order), no
// whitespace, strings and numbers exactly as JSON.stringify writes them. For the values JSON.parse
// can produce this is the JSON Canonicalization Scheme (RFC 8785) output. Iterative, depth-bounded.

// A value still to write. Its path ("records[2].value.items[0]") is only needed for an error
// message, so it is kept as a parent link and built on failure, never per element.
interface ValueTask {
  readonly value: unknown;
  readonly depth: number;
  readonly up: ValueTask | undefined;
  readonly seg: string | number;
}
type Task = ValueTask | string;

function pathOf(task: ValueTask): string {
  const segs: (string | number)[] = [];
  for (let t: ValueTask | undefined = task; t !== undefined; t = t.up) segs.push(t.seg);
  let out = '';
  for (let i = segs.length - 1; i >= 0; i--) {
    const seg = segs[i] as string | number;
    out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}

export function canonicalJson(value: unknown, depthMax: number, path = 'value'): string {
  // Scalars, the common value, skip the stack.
  if (typeof value !== 'object' || value === null) return canonicalScalar(value, () => path);
  let out = '';
  const stack: Task[] = [{ value, depth: 0, up: undefined, seg: path }];
  while (stack.length > 0) {
    const task = stack.pop() as Task;
    out += typeof task === 'string' ? task : canonicalStep(task, depthMax, stack);
  }
  return out;
}

function canonicalScalar(v: unknown, path: () => string): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) fail('wrong_type', 'numbers must be finite', path());
      return JSON.stringify(v);
    case 'string':
      if (!isWellFormedString(v)) fail('bad_unicode', 'string holds a lone surrogate', path());
      return JSON.stringify(v);
    default:
      return fail('wrong_type', `${typeof v} is not a JSON value`, path());
  }
}

function canonicalStep(task: ValueTask, depthMax: number, stack: Task[]): string {
  const v = task.value;
  if (typeof v !== 'object' || v === null) return canonicalScalar(v, () => pathOf(task));
  const depth = task.depth;
  if (depth >= depthMax) fail('json_too_deep', `nesting deeper than ${depthMax}`, pathOf(task));
  if (Array.isArray(v)) {
    stack.push(']');
    for (let i = v.length - 1; i >= 0; i--) {
      stack.push({ value: v[i], depth: depth + 1, up: task, seg: i });
      if (i > 0) stack.push(',');
    }
    return '[';
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) fail('wrong_type', 'not a plain JSON object', pathOf(task));
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  stack.push('}');
  for (let i = keys.length - 1; i >= 0; i--) {
    const k = keys[i] as string;
    if (!isWellFormedString(k)) fail('bad_unicode', 'object key holds a lone surrogate', pathOf(task));
    stack.push({ value: obj[k], depth: depth + 1, up: task, seg: k });
    stack.push(i > 0 ? `,${JSON.stringify(k)}:` : `${JSON.stringify(k)}:`);
  }
  return '{';
}

const utf8 = new TextEncoder();

export function canonicalJsonBytes(value: unknown, depthMax: number = txLimitsDefault.json_depth_max): Uint8Array {
  return utf8.encode(canonicalJson(value, depthMax));
}

// ---------------------------------------------------------------------------------------------
// Keys, hash tags and shards.

// Control characters (C0, DEL, C1) make keys unreadable in logs and ambiguous in terminals.
const controlChars = /[\u0000-\u001f\u007f-\u009f]/;

// The hash tag of a key: the content between the first "{" and the next "}" (Redis Cluster rule).
// A key without "{" hashes whole. A "{" with no "}" after it, or "{}" with nothing inside, is an
// error rather than a silent fallback to the whole key: it is almost always a bug in the caller,
// and a fallback would scatter keys the caller meant to keep together.
export function hashTag(key: string, path = 'key'): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close < 0) fail('bad_hash_tag', 'hash tag "{" is never closed', path);
  if (close === open + 1) fail('bad_hash_tag', 'hash tag "{}" is empty', path);
  return key.slice(open + 1, close);
}

// Checks a key and returns its UTF-8 bytes.
export function validateKey(key: unknown, limits: TxLimits, path = 'key'): Uint8Array {
  if (typeof key !== 'string') fail('wrong_type', 'key must be a string', path);
  if (key.length === 0) fail('invalid_key', 'key is empty', path);
  if (!isWellFormedString(key)) fail('bad_unicode', 'key holds a lone surrogate', path);
  if (controlChars.test(key)) fail('invalid_key', 'key holds a control character', path);
  const bytes = utf8.encode(key);
  if (bytes.length > limits.key_bytes_max) {
    fail('key_too_large', `key is ${bytes.length} bytes, at most ${limits.key_bytes_max}`, path);
  }
  hashTag(key, path);
  return bytes;
}

// shard = (first 8 bytes of SHA-256(UTF-8 hash tag), big-endian unsigned) mod shardCount.
// Computed as ((hi mod n) * (2^32 mod n) + lo mod n) mod n so every intermediate stays far below
// 2^53 for n <= shardCountMax; no 32-bit bitwise operators, no BigInt.
export function shardOfTag(tag: string, shardCount: number, sha256: Sha256 = defaultSha256): number {
  if (!Number.isSafeInteger(shardCount) || shardCount < 1 || shardCount > shardCountMax) {
    throw new RangeError(`shardCount must be 1..${shardCountMax}, got ${shardCount}`);
  }
  const digest = sha256(utf8.encode(tag));
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  return ((hi % shardCount) * (4_294_967_296 % shardCount) + (lo % shardCount)) % shardCount;
}

export function shardOfKey(key: string, shardCount: number, sha256: Sha256 = defaultSha256): number {
  return shardOfTag(hashTag(key), shardCount, sha256);
}

// ---------------------------------------------------------------------------------------------
// Transaction ids. A client id is the idempotency key. It travels in NATS headers and URL paths,
// so it is restricted to characters that need no escaping anywhere. Ids the gateway assigns start
// with "~", which no client id can, so the two never collide.

const clientIdPattern = /^[A-Za-z0-9._:-]+$/;
export const assignedIdPrefix = '~';

export function validateClientId(id: unknown, limits: TxLimits, path = 'id'): string {
  if (typeof id !== 'string') fail('wrong_type', 'id must be a string', path);
  if (id.length === 0 || id.length > limits.id_bytes_max) {
    fail('invalid_id', `id must be 1..${limits.id_bytes_max} characters`, path);
  }
  if (!clientIdPattern.test(id)) fail('invalid_id', 'id may hold only A-Z a-z 0-9 . _ : -', path);
  return id;
}

// ---------------------------------------------------------------------------------------------
// Validation of one transaction into the form the gateway publishes.

export interface ValidRecord {
  readonly key: string;
  readonly keyBytes: Uint8Array;
  // Canonical JSON bytes of the value.
  readonly value: Uint8Array;
  readonly expect: Expect | undefined;
  readonly shard: number;
}

export interface ValidTransaction {
  // undefined until the gateway assigns one (client sent none).
  readonly id: string | undefined;
  readonly records: readonly ValidRecord[];
  // Canonical JSON bytes of meta; an absent meta is "{}", the same content as an empty one.
  readonly meta: Uint8Array;
  // SHA-256 of transactionContent(): the idempotency fingerprint; the id is not part of it.
  readonly contentHash: Uint8Array;
  // The shards the records live on, ascending, unique.
  readonly shards: readonly number[];
  // key + value + meta bytes (the bound tx_bytes_max applies to this).
  readonly bytes: number;
}

export interface ValidateOptions {
  readonly limits: TxLimits;
  readonly shardCount: number;
  readonly sha256?: Sha256;
  // A memoized shardOfTag for this shardCount (servers cache hot tags); must give the same answers.
  readonly shardOfTag?: (tag: string) => number;
}

const txFields = new Set(['id', 'records', 'meta']);
const recordFields = new Set(['key', 'value', 'expect']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rejectUnknownFields(obj: Record<string, unknown>, allowed: Set<string>, path: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) fail('wrong_type', `unknown field "${k}"`, path);
  }
}

export function validateExpect(e: unknown, path: string): Expect {
  if (!isPlainObject(e)) fail('bad_expect', 'expect must be {"version": n} or {"absent": true}', path);
  const keys = Object.keys(e);
  if (keys.length === 1 && keys[0] === 'absent') {
    if (e['absent'] !== true) fail('bad_expect', 'expect.absent must be true', path);
    return { absent: true };
  }
  if (keys.length === 1 && keys[0] === 'version') {
    const v = e['version'];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      fail('bad_expect', 'expect.version must be an integer 1..2^53-1', path);
    }
    return { version: v };
  }
  return fail('bad_expect', 'expect must be {"version": n} or {"absent": true}', path);
}

export function validateTransaction(input: unknown, options: ValidateOptions, path = ''): ValidTransaction {
  const { limits } = options;
  const sha256 = options.sha256 ?? defaultSha256;
  const at = (p: string): string => (path === '' ? p : `${path}.${p}`);
  if (!isPlainObject(input)) fail('wrong_type', 'transaction must be an object', path === '' ? '$' : path);
  rejectUnknownFields(input, txFields, path === '' ? '$' : path);
  const id = input['id'] === undefined ? undefined : validateClientId(input['id'], limits, at('id'));
  const rawRecords = input['records'];
  if (!Array.isArray(rawRecords)) fail('wrong_type', 'records must be an array', at('records'));
  if (rawRecords.length === 0) fail('empty_records', 'a transaction needs at least one record', at('records'));
  if (rawRecords.length > limits.tx_records_max) {
    fail('too_many_records', `${rawRecords.length} records, at most ${limits.tx_records_max}`, at('records'));
  }
  // Absent is {}; null is not an object (the API says meta is one) and is refused like any other non-object.
  const rawMeta = input['meta'] === undefined ? {} : input['meta'];
  if (!isPlainObject(rawMeta)) fail('wrong_type', 'meta must be an object', at('meta'));
  const meta = utf8.encode(canonicalJson(rawMeta, limits.json_depth_max, at('meta')));
  if (meta.length > limits.meta_bytes_max) {
    fail('meta_too_large', `meta is ${meta.length} bytes, at most ${limits.meta_bytes_max}`, at('meta'));
  }
  let bytes = meta.length;
  let hasExpect = false;
  // Most transactions hold one record: no set for them.
  const seen = rawRecords.length > 1 ? new Set<string>() : undefined;
  const shardOf = options.shardOfTag ?? memoShardOf(options.shardCount, sha256);
  const records: ValidRecord[] = [];
  for (let i = 0; i < rawRecords.length; i++) {
    const rp = at(`records[${i}]`);
    const record = validateRecord(rawRecords[i], rp, options, shardOf);
    if (seen !== undefined) {
      if (seen.has(record.key)) fail('duplicate_key', 'a transaction writes each key at most once', `${rp}.key`);
      seen.add(record.key);
    }
    hasExpect ||= record.expect !== undefined;
    bytes += record.keyBytes.length + record.value.length;
    if (bytes > limits.tx_bytes_max) {
      fail('tx_too_large', `transaction exceeds ${limits.tx_bytes_max} bytes`, rp);
    }
    records.push(record);
  }
  const shards = uniqueSorted(records.map((r) => r.shard));
  if (hasExpect && shards.length > 1) {
    fail('precondition_cross_shard', `preconditions need all records on one shard, these span ${shards.length}`, at('records'));
  }
  const contentHash = sha256(transactionContent(meta, records));
  return { id, records, meta, contentHash, shards, bytes };
}

// shardOfTag with a per-call memo (a transaction's records often share a tag).
function memoShardOf(shardCount: number, sha256: Sha256): (tag: string) => number {
  let lastTag: string | undefined;
  let lastShard = 0;
  return (tag) => {
    if (tag !== lastTag) {
      lastShard = shardOfTag(tag, shardCount, sha256);
      lastTag = tag;
    }
    return lastShard;
  };
}

function validateRecord(raw: unknown, path: string, options: ValidateOptions, shardOf: (tag: string) => number): ValidRecord {
  const { limits } = options;
  if (!isPlainObject(raw)) fail('wrong_type', 'record must be an object', path);
  rejectUnknownFields(raw, recordFields, path);
  const keyBytes = validateKey(raw['key'], limits, `${path}.key`);
  const key = raw['key'] as string;
  if (!('value' in raw) || raw['value'] === undefined) fail('wrong_type', 'record needs a value', `${path}.value`);
  const value = utf8.encode(canonicalJson(raw['value'], limits.json_depth_max, `${path}.value`));
  if (value.length > limits.value_bytes_max) {
    fail('value_too_large', `value is ${value.length} bytes, at most ${limits.value_bytes_max}`, `${path}.value`);
  }
  const expect = raw['expect'] === undefined ? undefined : validateExpect(raw['expect'], `${path}.expect`);
  return { key, keyBytes, value, expect, shard: shardOf(hashTag(key)) };
}

function uniqueSorted(values: number[]): number[] {
  values.sort((a, b) => a - b);
  const out: number[] = [];
  for (const v of values) if (out.length === 0 || out[out.length - 1] !== v) out.push(v);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Content encoding hashed for idempotency (big-endian, length-prefixed, documented in docs/wire.md):
//   "cairn-tx-content-v1" (19 ASCII bytes)
//   u32 meta_len, meta
//   u32 record_count
//   per record: u32 key_len, key, u32 value_len, value, u8 expect_kind (0 none, 1 version,
//               2 absent), then u64 version when expect_kind is 1.

const contentDomain = utf8.encode('cairn-tx-content-v1');

export interface ContentRecord {
  readonly keyBytes: Uint8Array;
  readonly value: Uint8Array;
  readonly expect: Expect | undefined;
}

export function transactionContent(meta: Uint8Array, records: readonly ContentRecord[]): Uint8Array {
  let size = contentDomain.length + 4 + meta.length + 4;
  for (const r of records) size += 4 + r.keyBytes.length + 4 + r.value.length + 1 + (expectKind(r.expect) === 1 ? 8 : 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(contentDomain, 0);
  let o = contentDomain.length;
  view.setUint32(o, meta.length);
  out.set(meta, o + 4);
  o += 4 + meta.length;
  view.setUint32(o, records.length);
  o += 4;
  for (const r of records) {
    view.setUint32(o, r.keyBytes.length);
    out.set(r.keyBytes, o + 4);
    o += 4 + r.keyBytes.length;
    view.setUint32(o, r.value.length);
    out.set(r.value, o + 4);
    o += 4 + r.value.length;
    const kind = expectKind(r.expect);
    out[o] = kind;
    o += 1;
    if (kind === 1) {
      writeU64(view, o, (r.expect as { version: number }).version);
      o += 8;
    }
  }
  if (o !== size) throw new Error(`content encoding wrote ${o} of ${size} bytes`);
  return out;
}

export function expectKind(e: Expect | undefined): 0 | 1 | 2 {
  if (e === undefined) return 0;
  return 'absent' in e ? 2 : 1;
}

// u64 as two u32 halves: values are safe integers, so hi < 2^21.
export function writeU64(view: DataView, offset: number, value: number): void {
  const hi = Math.floor(value / 4_294_967_296);
  view.setUint32(offset, hi);
  view.setUint32(offset + 4, value - hi * 4_294_967_296);
}

// ---------------------------------------------------------------------------------------------
// Batch envelope: { "transactions": [ ... ] }. Items are validated one by one by the caller so each
// gets its own status.

const batchFields = new Set(['transactions']);

export function validateBatchEnvelope(input: unknown, limits: TxLimits): unknown[] {
  if (!isPlainObject(input)) fail('wrong_type', 'batch must be an object', '$');
  rejectUnknownFields(input, batchFields, '$');
  const txs = input['transactions'];
  if (!Array.isArray(txs)) fail('wrong_type', 'transactions must be an array', 'transactions');
  if (txs.length === 0) fail('empty_batch', 'a batch needs at least one transaction', 'transactions');
  if (txs.length > limits.request_txs_max) {
    fail('batch_too_large', `${txs.length} transactions, at most ${limits.request_txs_max}`, 'transactions');
  }
  return txs;
}

// ---------------------------------------------------------------------------------------------
// Answers.

export interface ReceiptRecord {
  key: string;
  version: number;
  shard: number;
  leafIndex: number;
}

export interface ReceiptShard {
  shard: number;
  size: number;
  // Standard base64 of the 32-byte RFC 9162 root of the shard's tree at `size` (as in proofs and
  // checkpoints, so it compares with the signed state without conversion).
  root: string;
}

export interface Receipt {
  id: string;
  status: 'committed';
  // true when this answer replays an earlier commit of the same id and content.
  replayed?: true;
  records: ReceiptRecord[];
  shards: ReceiptShard[];
}

export interface AcceptedReceipt {
  id: string;
  status: 'accepted';
  // The JetStream stream sequence of the message that carries the transaction, per shard.
  shards: { shard: number; seq: number }[];
}

export interface BatchItemResult {
  status: number;
  receipt?: Receipt | AcceptedReceipt;
  error?: { code: ErrorCode; message: string; path?: string };
}

export interface BatchResponse {
  results: BatchItemResult[];
}
