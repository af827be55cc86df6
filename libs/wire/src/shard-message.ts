// Binary codecs between the ingest gateway and the shards: the shard message (what one flush puts
// on one shard's subject) and the commit event (what a shard publishes after applying one message).
// Length-prefixed big-endian fields behind a version byte and a kind byte. Decoders are strict:
// every length is checked against the bytes left, every enum against its values, and trailing
// bytes are an error, so a shard never applies a message it half understood. Layout: docs/wire.md.
import { CairnError } from './errors.js';
import { expectKind, writeU64, type Expect } from './api.js';

export const wireVersion = 1;

// One registry of message kinds on the stream and on commit subjects.
export const wireKind = {
  shardMessage: 1,
  commitEvent: 2,
  // 3 is reserved for the proof service's epoch marker.
} as const;

export const contentHashBytes = 32;
export const rootBytes = 32;

export interface PartRecord {
  readonly key: string;
  // UTF-8 of key. The encoder computes it when absent; the decoder always sets it (a view).
  readonly keyBytes?: Uint8Array;
  // Canonical JSON bytes of the value.
  readonly value: Uint8Array;
  readonly expect: Expect | undefined;
}

// The part of one transaction that lives on one shard.
export interface TxPart {
  readonly id: string;
  readonly contentHash: Uint8Array;
  readonly meta: Uint8Array;
  // Every shard the whole transaction touches, ascending; includes the message's shard.
  readonly shards: readonly number[];
  readonly records: readonly PartRecord[];
}

export interface ShardMessage {
  readonly shard: number;
  readonly txs: readonly TxPart[];
}

export type TxStatus = 'committed' | 'duplicate' | 'precondition_failed' | 'id_conflict';
export const txStatuses: readonly TxStatus[] = ['committed', 'duplicate', 'precondition_failed', 'id_conflict'];

export interface CommitRecord {
  readonly key: string;
  readonly version: number;
  readonly leafIndex: number;
}

export interface TxResult {
  readonly id: string;
  readonly status: TxStatus;
  // committed and duplicate: every record of the part, in message order, with the version and
  // leaf index it got (for duplicate: those of the original commit). Otherwise empty.
  readonly records: readonly CommitRecord[];
}

export interface CommitEvent {
  // Stream sequence of the shard message this event answers.
  readonly seq: number;
  readonly shard: number;
  // Tree head after applying it.
  readonly size: number;
  readonly root: Uint8Array;
  readonly txs: readonly TxResult[];
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

const u16Max = 65_535;
// Ids and keys are short and mostly ASCII: decoded without TextDecoder up to this length.
const asciiFastBytesMax = 256;

function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] as number) > 0x7f) return false;
  return true;
}
const u32Max = 4_294_967_295;
// The smallest encoding of one item, so a count can be checked against the bytes left before any
// array is allocated (a hostile count cannot make the decoder allocate).
const partBytesMin = 2 + 1 + contentHashBytes + 2 + 4 + 4 + 4;
const partRecordBytesMin = 2 + 1 + 4 + 1;
const resultBytesMin = 2 + 1 + 1 + 4;
const commitRecordBytesMin = 2 + 1 + 8 + 8;

function malformed(message: string): never {
  throw new CairnError('wire_malformed', message);
}

function checkU32(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > u32Max) throw new RangeError(`${what} out of u32 range: ${value}`);
}

function checkU64(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a safe non-negative integer: ${value}`);
}

// UTF-8 length without encoding (ids and keys are mostly ASCII: one pass over char codes).
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // the pair is 4 bytes, counted 2 so far
        i++;
        continue;
      }
      n += 2; // a lone surrogate becomes U+FFFD, 3 bytes
    } else n += 2;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Writer: the exact size is computed first, so encoding is one allocation and no copies.

class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  offset = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(v: number): void {
    this.view.setUint8(this.offset, v);
    this.offset += 1;
  }
  u16(v: number): void {
    this.view.setUint16(this.offset, v);
    this.offset += 2;
  }
  u32(v: number): void {
    this.view.setUint32(this.offset, v);
    this.offset += 4;
  }
  u64(v: number): void {
    writeU64(this.view, this.offset, v);
    this.offset += 8;
  }
  raw(b: Uint8Array): void {
    this.bytes.set(b, this.offset);
    this.offset += b.length;
  }
  // Writes s as UTF-8 of exactly `length` bytes (utf8Length(s)); ASCII without allocating.
  utf8(s: string, length: number): void {
    if (length === s.length) {
      for (let i = 0; i < length; i++) this.bytes[this.offset + i] = s.charCodeAt(i);
    } else {
      const { written } = utf8.encodeInto(s, this.bytes.subarray(this.offset, this.offset + length));
      if (written !== length) throw new Error(`utf8 wrote ${written} of ${length} bytes`);
    }
    this.offset += length;
  }
  done(): Uint8Array {
    if (this.offset !== this.bytes.length) throw new Error(`encoder wrote ${this.offset} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

// ---------------------------------------------------------------------------------------------
// Reader: every read checks the bytes left and throws a typed error.

class Reader {
  private readonly view: DataView;
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  left(): number {
    return this.bytes.length - this.offset;
  }
  need(n: number, what: string): void {
    if (n > this.left()) throw new CairnError('wire_truncated', `${what}: need ${n} bytes, ${this.left()} left`);
  }
  u8(what: string): number {
    this.need(1, what);
    const v = this.view.getUint8(this.offset);
    this.offset += 1;
    return v;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const hi = this.view.getUint32(this.offset);
    const lo = this.view.getUint32(this.offset + 4);
    if (hi > 0x1f_ffff) malformed(`${what} exceeds 2^53-1`);
    this.offset += 8;
    return hi * 4_294_967_296 + lo;
  }
  raw(n: number, what: string): Uint8Array {
    this.need(n, what);
    const b = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  string(what: string): { text: string; bytes: Uint8Array } {
    const n = this.u16(`${what} length`);
    if (n === 0) malformed(`${what} is empty`);
    const bytes = this.raw(n, what);
    if (n <= asciiFastBytesMax && isAscii(bytes)) return { text: String.fromCharCode.apply(null, bytes as unknown as number[]), bytes };
    try {
      return { text: utf8Strict.decode(bytes), bytes };
    } catch (cause) {
      throw new CairnError('wire_malformed', `${what} is not valid UTF-8`, { cause });
    }
  }
  count(minItemBytes: number, what: string): number {
    const n = this.u32(`${what} count`);
    if (n === 0) malformed(`${what} count is zero`);
    if (n * minItemBytes > this.left()) throw new CairnError('wire_truncated', `${n} ${what} cannot fit in ${this.left()} bytes`);
    return n;
  }
  header(kind: number, what: string): void {
    const version = this.u8('version');
    if (version !== wireVersion) throw new CairnError('wire_version', `${what} version ${version}, this code reads ${wireVersion}`);
    const k = this.u8('kind');
    if (k !== kind) malformed(`kind ${k} is not a ${what} (${kind})`);
  }
  end(what: string): void {
    if (this.left() !== 0) malformed(`${this.left()} trailing bytes after ${what}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Shard message:
//   u8 version, u8 kind=1, u32 shard, u32 tx_count (>= 1)
//   per tx:     u16 id_len, id, [32] content_hash, u16 shard_count, u32 shard * shard_count,
//               u32 meta_len, meta, u32 record_count (>= 1)
//   per record: u16 key_len, key, u32 value_len, value, u8 expect_kind (0 none, 1 version,
//               2 absent), u64 version when expect_kind = 1

function partSize(part: TxPart): number {
  let size = 2 + utf8Length(part.id) + contentHashBytes + 2 + 4 * part.shards.length + 4 + part.meta.length + 4;
  for (const r of part.records) {
    const keyLength = r.keyBytes?.length ?? utf8Length(r.key);
    size += 2 + keyLength + 4 + r.value.length + 1 + (expectKind(r.expect) === 1 ? 8 : 0);
  }
  return size;
}

// Encoded size of one part, for the gateway's per-message byte bound, without encoding it.
export function encodedTxPartSize(part: TxPart): number {
  return partSize(part);
}

export const shardMessageHeaderBytes = 1 + 1 + 4 + 4;

export function encodeShardMessage(message: ShardMessage): Uint8Array {
  checkU32(message.shard, 'shard');
  if (message.txs.length === 0) throw new RangeError('a shard message carries at least one transaction');
  let size = shardMessageHeaderBytes;
  for (const part of message.txs) size += partSize(part);
  const w = new Writer(size);
  w.u8(wireVersion);
  w.u8(wireKind.shardMessage);
  w.u32(message.shard);
  w.u32(message.txs.length);
  for (const part of message.txs) writePart(w, part, message.shard);
  return w.done();
}

function checkLength(n: number, what: string): void {
  if (n === 0 || n > u16Max) throw new RangeError(`${what} must be 1..${u16Max} bytes`);
}

function writePart(w: Writer, part: TxPart, shard: number): void {
  if (part.contentHash.length !== contentHashBytes) throw new RangeError('content hash must be 32 bytes');
  if (part.records.length === 0) throw new RangeError(`tx ${part.id} has no records for shard ${shard}`);
  checkShardList(part.shards, shard, (m) => new RangeError(`tx ${part.id}: ${m}`));
  const idLength = utf8Length(part.id);
  checkLength(idLength, 'tx id');
  w.u16(idLength);
  w.utf8(part.id, idLength);
  w.raw(part.contentHash);
  w.u16(part.shards.length);
  for (const s of part.shards) w.u32(s);
  w.u32(part.meta.length);
  w.raw(part.meta);
  w.u32(part.records.length);
  for (const r of part.records) {
    if (r.keyBytes !== undefined) {
      checkLength(r.keyBytes.length, 'key');
      w.u16(r.keyBytes.length);
      w.raw(r.keyBytes);
    } else {
      const keyLength = utf8Length(r.key);
      checkLength(keyLength, 'key');
      w.u16(keyLength);
      w.utf8(r.key, keyLength);
    }
    w.u32(r.value.length);
    w.raw(r.value);
    const kind = expectKind(r.expect);
    w.u8(kind);
    if (kind === 1) {
      const version = (r.expect as { version: number }).version;
      checkU64(version, 'expect.version');
      w.u64(version);
    }
  }
}

function checkShardList(shards: readonly number[], shard: number, error: (m: string) => Error): void {
  if (shards.length === 0 || shards.length > u16Max) throw error('shard list must hold 1..65535 shards');
  let found = false;
  for (let i = 0; i < shards.length; i++) {
    const s = shards[i] as number;
    if (i > 0 && s <= (shards[i - 1] as number)) throw error('shard list must be strictly ascending');
    found ||= s === shard;
  }
  if (!found) throw error(`shard list does not include shard ${shard}`);
}

export interface DecodedPartRecord extends PartRecord {
  readonly keyBytes: Uint8Array;
}

export interface DecodedTxPart extends TxPart {
  readonly records: readonly DecodedPartRecord[];
}

export interface DecodedShardMessage extends ShardMessage {
  readonly txs: readonly DecodedTxPart[];
}

// Byte fields of the result (content hash, meta, keyBytes, values) are views into `bytes`.
export function decodeShardMessage(bytes: Uint8Array): DecodedShardMessage {
  const r = new Reader(bytes);
  r.header(wireKind.shardMessage, 'shard message');
  const shard = r.u32('shard');
  const count = r.count(partBytesMin, 'transactions');
  const txs: DecodedTxPart[] = [];
  for (let i = 0; i < count; i++) txs.push(readPart(r, shard));
  r.end('shard message');
  return { shard, txs };
}

function readPart(r: Reader, shard: number): DecodedTxPart {
  const id = r.string('tx id').text;
  const contentHash = r.raw(contentHashBytes, 'content hash');
  const shardCount = r.u16('shard count');
  r.need(4 * shardCount, 'shard list');
  const shards: number[] = [];
  for (let i = 0; i < shardCount; i++) shards.push(r.u32('shard'));
  checkShardList(shards, shard, (m) => new CairnError('wire_malformed', `tx ${id}: ${m}`));
  const meta = r.raw(r.u32('meta length'), 'meta');
  const recordCount = r.count(partRecordBytesMin, 'records');
  const records: DecodedPartRecord[] = [];
  for (let i = 0; i < recordCount; i++) records.push(readPartRecord(r));
  return { id, contentHash, shards, meta, records };
}

function readPartRecord(r: Reader): DecodedPartRecord {
  const key = r.string('key');
  const value = r.raw(r.u32('value length'), 'value');
  const kind = r.u8('expect kind');
  let expect: Expect | undefined;
  if (kind === 1) {
    expect = { version: r.u64('expect version') };
  } else if (kind === 2) {
    expect = { absent: true };
  } else if (kind !== 0) {
    malformed(`expect kind ${kind}`);
  }
  return { key: key.text, keyBytes: key.bytes, value, expect };
}

// ---------------------------------------------------------------------------------------------
// Commit event:
//   u8 version, u8 kind=2, u64 seq, u32 shard, u64 size, [32] root, u32 tx_count (>= 1)
//   per tx:     u16 id_len, id, u8 status (0 committed, 1 duplicate, 2 precondition_failed,
//               3 id_conflict), u32 record_count (may be 0)
//   per record: u16 key_len, key, u64 version, u64 leaf_index

export function encodeCommitEvent(event: CommitEvent): Uint8Array {
  checkU64(event.seq, 'seq');
  checkU32(event.shard, 'shard');
  checkU64(event.size, 'size');
  if (event.root.length !== rootBytes) throw new RangeError('root must be 32 bytes');
  if (event.txs.length === 0) throw new RangeError('a commit event carries at least one transaction');
  let size = 1 + 1 + 8 + 4 + 8 + rootBytes + 4;
  for (const tx of event.txs) {
    size += 2 + utf8Length(tx.id) + 1 + 4;
    for (const rec of tx.records) size += 2 + utf8Length(rec.key) + 16;
  }
  const w = new Writer(size);
  w.u8(wireVersion);
  w.u8(wireKind.commitEvent);
  w.u64(event.seq);
  w.u32(event.shard);
  w.u64(event.size);
  w.raw(event.root);
  w.u32(event.txs.length);
  for (const tx of event.txs) writeResult(w, tx);
  return w.done();
}

function writeResult(w: Writer, tx: TxResult): void {
  const status = txStatuses.indexOf(tx.status);
  if (status < 0) throw new RangeError(`unknown tx status ${String(tx.status)}`);
  checkU32(tx.records.length, 'record count');
  const idLength = utf8Length(tx.id);
  checkLength(idLength, 'tx id');
  w.u16(idLength);
  w.utf8(tx.id, idLength);
  w.u8(status);
  w.u32(tx.records.length);
  for (const rec of tx.records) {
    const keyLength = utf8Length(rec.key);
    checkLength(keyLength, 'key');
    checkU64(rec.version, 'version');
    checkU64(rec.leafIndex, 'leafIndex');
    w.u16(keyLength);
    w.utf8(rec.key, keyLength);
    w.u64(rec.version);
    w.u64(rec.leafIndex);
  }
}

export function decodeCommitEvent(bytes: Uint8Array): CommitEvent {
  const r = new Reader(bytes);
  r.header(wireKind.commitEvent, 'commit event');
  const seq = r.u64('seq');
  const shard = r.u32('shard');
  const size = r.u64('size');
  const root = r.raw(rootBytes, 'root');
  const count = r.count(resultBytesMin, 'transactions');
  const txs: TxResult[] = [];
  for (let i = 0; i < count; i++) txs.push(readResult(r));
  r.end('commit event');
  return { seq, shard, size, root, txs };
}

function readResult(r: Reader): TxResult {
  const id = r.string('tx id').text;
  const statusByte = r.u8('status');
  const status = txStatuses[statusByte];
  if (status === undefined) malformed(`tx status ${statusByte}`);
  const n = r.u32('record count');
  if (n * commitRecordBytesMin > r.left()) throw new CairnError('wire_truncated', `${n} records cannot fit in ${r.left()} bytes`);
  const records: CommitRecord[] = [];
  for (let i = 0; i < n; i++) {
    const key = r.string('key').text;
    const version = r.u64('version');
    const leafIndex = r.u64('leaf index');
    records.push({ key, version, leafIndex });
  }
  return { id, status, records };
}
