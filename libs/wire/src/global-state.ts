// The global state of one epoch: every shard's tree head at one consistent cut of the stream.
// The proof service appends it as the value of one record of its own state log; clients decode it
// to find the shard root a record proof must reach. docs/design/proofs.md is the normative text.
//
// Layout, all integers big-endian, strict (no trailing bytes, every field checked):
//   u8   format tag (GLOBAL_STATE_FORMAT_V1)
//   u16  origin byte length, then the origin's UTF-8 bytes (the cluster name = checkpoint origin)
//   u64  epoch (1, 2, 3, ... gapless: the state-log leaf index plus one)
//   u64  cut: stream sequence of the epoch's marker batch
//   u16  shard count
//   per shard, in shard order: u64 tree size, 32 bytes tree root
import { CairnError } from './errors.js';
import { defaultSha256, shardCountMax, type Sha256 } from './api.js';
import type { LeafEntry } from './entry.js';

/** Format tag of the only layout so far; a new layout gets a new tag, never a reinterpretation. */
export const GLOBAL_STATE_FORMAT_V1 = 0x01;
export const GLOBAL_STATE_ROOT_BYTES = 32;
/** Origins are single C2SP note lines; 255 bytes is ample for a cluster name and bounds the decode. */
export const GLOBAL_STATE_ORIGIN_BYTES_MAX = 255;
/** Same bound as everywhere else: one marker per shard must fit one atomic batch. */
export const GLOBAL_STATE_SHARDS_MAX = shardCountMax;
/** The state log's single key, and the fixed parts of its records (contract: docs/design/proofs.md). */
export const STATE_LOG_KEY = 'cairn/state';
export const STATE_LOG_META = '{}';
export const STATE_LOG_TX_PREFIX = 'epoch-';

export interface ShardHead {
  readonly size: number;
  readonly root: Uint8Array;
}

export interface GlobalState {
  readonly origin: string;
  readonly epoch: number;
  readonly cut: number;
  /** Index = shard number. */
  readonly shards: readonly ShardHead[];
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const TWO_POW_32 = 0x1_0000_0000;
const HEADER_FIXED_BYTES = 1 + 2 + 8 + 8 + 2;
const SHARD_BYTES = 8 + GLOBAL_STATE_ROOT_BYTES;
// C2SP origin lines: no control characters (a newline would end the line, and so the origin).
const originForbidden = /[\u0000-\u001f\u007f]/;
const loneSurrogate = /\p{Cs}/u;

function malformed(message: string): CairnError {
  return new CairnError('wire_malformed', `global state: ${message}`);
}

function checkOrigin(origin: string): Uint8Array {
  if (typeof origin !== 'string' || origin.length === 0) throw malformed('origin must be a non-empty string');
  if (originForbidden.test(origin) || loneSurrogate.test(origin)) throw malformed('origin holds a control character or lone surrogate');
  const bytes = utf8.encode(origin);
  if (bytes.length > GLOBAL_STATE_ORIGIN_BYTES_MAX) throw malformed(`origin is ${bytes.length} bytes, above ${GLOBAL_STATE_ORIGIN_BYTES_MAX}`);
  return bytes;
}

function checkCounter(value: number, min: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < min) throw malformed(`${what} must be a safe integer >= ${min}, got ${String(value)}`);
}

export function globalStateBytes(shardCount: number, originBytes: number): number {
  return HEADER_FIXED_BYTES + originBytes + shardCount * SHARD_BYTES;
}

export function encodeGlobalState(state: GlobalState): Uint8Array {
  const origin = checkOrigin(state.origin);
  checkCounter(state.epoch, 1, 'epoch');
  checkCounter(state.cut, 1, 'cut');
  const count = state.shards.length;
  if (count < 1 || count > GLOBAL_STATE_SHARDS_MAX) throw malformed(`shard count ${count} not in [1, ${GLOBAL_STATE_SHARDS_MAX}]`);
  const out = new Uint8Array(globalStateBytes(count, origin.length));
  const view = new DataView(out.buffer);
  out[0] = GLOBAL_STATE_FORMAT_V1;
  view.setUint16(1, origin.length);
  out.set(origin, 3);
  let at = 3 + origin.length;
  setU64(view, at, state.epoch);
  setU64(view, at + 8, state.cut);
  view.setUint16(at + 16, count);
  at += 18;
  for (let i = 0; i < count; i += 1) {
    const head = state.shards[i] as ShardHead;
    checkCounter(head.size, 0, `shard ${i} size`);
    if (!(head.root instanceof Uint8Array) || head.root.length !== GLOBAL_STATE_ROOT_BYTES) {
      throw malformed(`shard ${i} root must be ${GLOBAL_STATE_ROOT_BYTES} bytes`);
    }
    setU64(view, at, head.size);
    out.set(head.root, at + 8);
    at += SHARD_BYTES;
  }
  if (at !== out.length) throw malformed(`encoder wrote ${at} of ${out.length} bytes`);
  return out;
}

/** Parses exactly one global state; anything but the canonical encoding is rejected. */
export function decodeGlobalState(bytes: Uint8Array): GlobalState {
  if (!(bytes instanceof Uint8Array)) throw malformed('not bytes');
  if (bytes.length < HEADER_FIXED_BYTES) throw new CairnError('wire_truncated', `global state needs ${HEADER_FIXED_BYTES} bytes, has ${bytes.length}`);
  if (bytes[0] !== GLOBAL_STATE_FORMAT_V1) throw new CairnError('wire_version', `unknown global state format tag ${bytes[0]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const originLength = view.getUint16(1);
  if (originLength < 1 || originLength > GLOBAL_STATE_ORIGIN_BYTES_MAX) throw malformed(`origin length ${originLength} out of range`);
  need(bytes, HEADER_FIXED_BYTES + originLength);
  let origin: string;
  try {
    origin = utf8Strict.decode(bytes.subarray(3, 3 + originLength));
  } catch (cause) {
    throw new CairnError('wire_malformed', 'global state: origin is not UTF-8', { cause });
  }
  checkOrigin(origin);
  let at = 3 + originLength;
  const epoch = getU64(view, at, 'epoch');
  const cut = getU64(view, at + 8, 'cut');
  checkCounter(epoch, 1, 'epoch');
  checkCounter(cut, 1, 'cut');
  const count = view.getUint16(at + 16);
  at += 18;
  if (count < 1 || count > GLOBAL_STATE_SHARDS_MAX) throw malformed(`shard count ${count} not in [1, ${GLOBAL_STATE_SHARDS_MAX}]`);
  // Checked before any allocation, so a hostile count cannot make the decoder allocate.
  const expected = globalStateBytes(count, originLength);
  need(bytes, expected);
  if (bytes.length !== expected) throw malformed(`${bytes.length - expected} bytes after the global state`);
  const shards: ShardHead[] = [];
  for (let i = 0; i < count; i += 1) {
    const size = getU64(view, at, `shard ${i} size`);
    shards.push({ size, root: bytes.slice(at + 8, at + SHARD_BYTES) });
    at += SHARD_BYTES;
  }
  return { origin, epoch, cut, shards };
}

/** The state-log transaction id of an epoch. */
export function stateLogTxId(epoch: number): string {
  checkCounter(epoch, 1, 'epoch');
  return `${STATE_LOG_TX_PREFIX}${epoch}`;
}

/**
 * The state-log leaf entry of an epoch: what a client re-encodes (encodeLeaf) and hashes to check
 * that `stateBytes` is the leaf at index epoch-1 of the signed state log.
 */
export function stateLogEntry(epoch: number, stateBytes: Uint8Array, sha256: Sha256 = defaultSha256): LeafEntry {
  return {
    txId: stateLogTxId(epoch),
    key: STATE_LOG_KEY,
    version: epoch,
    valueHash: sha256(stateBytes),
    metaHash: sha256(utf8.encode(STATE_LOG_META)),
  };
}

function setU64(view: DataView, at: number, value: number): void {
  const hi = Math.floor(value / TWO_POW_32);
  view.setUint32(at, hi);
  view.setUint32(at + 4, value - hi * TWO_POW_32);
}

function getU64(view: DataView, at: number, what: string): number {
  const hi = view.getUint32(at);
  // Above 2^53 - 1 a JavaScript number would silently round: refuse instead.
  if (hi >= 0x20_0000) throw malformed(`${what} above 2^53-1`);
  return hi * TWO_POW_32 + view.getUint32(at + 4);
}

function need(bytes: Uint8Array, end: number): void {
  if (bytes.length < end) throw new CairnError('wire_truncated', `global state needs ${end} bytes, has ${bytes.length}`);
}
