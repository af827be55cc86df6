/* eslint no-bitwise: "error" */
// The canonical byte encoding of a record leaf (docs/leaf-encoding.md is the normative text).
// A leaf commits to one record: which transaction wrote it, the key, the key's version, and the
// SHA-256 of the value and of the transaction's metadata. Values stay beside the tree, so a value
// can be erased while its hash, and so every proof, stays valid.
//
// Layout, all integers big-endian:
//   u8  format tag (LEAF_FORMAT_V1)
//   u32 byte length of the transaction id, then its UTF-8 bytes
//   u32 byte length of the key, then its UTF-8 bytes
//   u64 version (1 = first write of the key)
//   32  SHA-256(value bytes)
//   32  SHA-256(meta bytes)
// The Merkle leaf hash is RFC 6962's SHA-256(0x00 || these bytes).
import { CairnError } from './errors.js';

/** Format tag of the only leaf layout so far; a new layout gets a new tag, never a reinterpretation. */
export const LEAF_FORMAT_V1 = 0x01;
export const LEAF_HASH_BYTES = 32;
/** Fixed bytes of a leaf besides the two strings: tag, two u32 lengths, u64 version, two hashes. */
export const LEAF_FIXED_BYTES = 1 + 4 + 4 + 8 + 2 * LEAF_HASH_BYTES;
/** The two hashes close the leaf, so a writer can encode first and fill them in place later. */
export const LEAF_TRAILER_BYTES = 2 * LEAF_HASH_BYTES;
/** Hard cap of either string in the format itself; services enforce much smaller limits. */
export const LEAF_STRING_BYTES_MAX = 65_535;
/** Versions are JavaScript safe integers even though the field is a u64. */
export const LEAF_VERSION_MAX = Number.MAX_SAFE_INTEGER;

export interface LeafEntry {
  readonly txId: string;
  readonly key: string;
  readonly version: number;
  /** SHA-256 of the value bytes. */
  readonly valueHash: Uint8Array;
  /** SHA-256 of the transaction's metadata bytes. */
  readonly metaHash: Uint8Array;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// A lone surrogate has no UTF-8 form: TextEncoder would silently turn it into U+FFFD, so two
// different strings would share one leaf. With the u flag, \p{Cs} matches only unpaired halves.
const loneSurrogate = /\p{Cs}/u;
const TWO_POW_32 = 0x1_0000_0000;

/** UTF-8 bytes of a leaf string; rejects what could not round-trip. */
export function leafStringBytes(value: string, what: 'txId' | 'key'): Uint8Array {
  const code = what === 'key' ? 'invalid_key' : 'invalid_id';
  if (typeof value !== 'string' || value.length === 0) {
    throw new CairnError(code, `leaf ${what} must be a non-empty string`);
  }
  if (loneSurrogate.test(value)) throw new CairnError(code, `leaf ${what} holds a lone UTF-16 surrogate`);
  const bytes = utf8Encoder.encode(value);
  if (bytes.length > LEAF_STRING_BYTES_MAX) {
    throw new CairnError(code, `leaf ${what} is ${bytes.length} bytes, above ${LEAF_STRING_BYTES_MAX}`);
  }
  return bytes;
}

/** Encoded size of a leaf whose strings have these UTF-8 lengths. */
export function leafEncodedBytes(txIdBytes: number, keyBytes: number): number {
  return LEAF_FIXED_BYTES + txIdBytes + keyBytes;
}

/**
 * Writes the leaf at `offset` of `out` from already-encoded strings and returns the bytes written.
 * This is the one encoder; encodeLeaf wraps it. Writers on a hot path pass zero-filled hashes and
 * fill the LEAF_TRAILER_BYTES at the end once they are known.
 */
export function encodeLeafInto(
  out: Uint8Array,
  offset: number,
  txId: Uint8Array,
  key: Uint8Array,
  version: number,
  valueHash: Uint8Array,
  metaHash: Uint8Array,
): number {
  assertField(txId.length >= 1 && txId.length <= LEAF_STRING_BYTES_MAX, 'txId length');
  assertField(key.length >= 1 && key.length <= LEAF_STRING_BYTES_MAX, 'key length');
  assertField(Number.isSafeInteger(version) && version >= 1, `version ${version}`);
  assertField(valueHash.length === LEAF_HASH_BYTES, 'valueHash length');
  assertField(metaHash.length === LEAF_HASH_BYTES, 'metaHash length');
  const total = leafEncodedBytes(txId.length, key.length);
  assertField(Number.isSafeInteger(offset) && offset >= 0 && offset + total <= out.length, 'output space');
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = offset;
  out[at] = LEAF_FORMAT_V1;
  at += 1;
  view.setUint32(at, txId.length);
  out.set(txId, at + 4);
  at += 4 + txId.length;
  view.setUint32(at, key.length);
  out.set(key, at + 4);
  at += 4 + key.length;
  view.setUint32(at, Math.floor(version / TWO_POW_32));
  view.setUint32(at + 4, version % TWO_POW_32);
  at += 8;
  out.set(valueHash, at);
  out.set(metaHash, at + LEAF_HASH_BYTES);
  return total;
}

export function encodeLeaf(entry: LeafEntry): Uint8Array {
  const txId = leafStringBytes(entry.txId, 'txId');
  const key = leafStringBytes(entry.key, 'key');
  const out = new Uint8Array(leafEncodedBytes(txId.length, key.length));
  encodeLeafInto(out, 0, txId, key, entry.version, entry.valueHash, entry.metaHash);
  return out;
}

/** Parses exactly one leaf; anything but the canonical encoding is rejected. */
export function decodeLeaf(bytes: Uint8Array): LeafEntry {
  if (bytes.length < 1) throw new CairnError('wire_truncated', 'empty leaf');
  if (bytes[0] !== LEAF_FORMAT_V1) throw new CairnError('wire_version', `unknown leaf format tag ${bytes[0]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 1;
  const txId = readString(bytes, view, at, 'txId');
  at += 4 + txId.bytes;
  const key = readString(bytes, view, at, 'key');
  at += 4 + key.bytes;
  need(bytes, at + 8 + LEAF_TRAILER_BYTES);
  const version = view.getUint32(at) * TWO_POW_32 + view.getUint32(at + 4);
  if (view.getUint32(at) >= 0x20_0000 || version < 1) {
    throw new CairnError('wire_malformed', `leaf version out of range`);
  }
  at += 8;
  const valueHash = bytes.slice(at, at + LEAF_HASH_BYTES);
  const metaHash = bytes.slice(at + LEAF_HASH_BYTES, at + LEAF_TRAILER_BYTES);
  at += LEAF_TRAILER_BYTES;
  if (at !== bytes.length) throw new CairnError('wire_malformed', `${bytes.length - at} bytes after the leaf`);
  return { txId: txId.value, key: key.value, version, valueHash, metaHash };
}

function readString(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  what: 'txId' | 'key',
): { value: string; bytes: number } {
  need(bytes, at + 4);
  const length = view.getUint32(at);
  if (length < 1 || length > LEAF_STRING_BYTES_MAX) {
    throw new CairnError('wire_malformed', `leaf ${what} length ${length} out of range`);
  }
  need(bytes, at + 4 + length);
  let value: string;
  try {
    value = utf8Decoder.decode(bytes.subarray(at + 4, at + 4 + length));
  } catch (cause) {
    throw new CairnError('wire_malformed', `leaf ${what} is not UTF-8`, { cause });
  }
  return { value, bytes: length };
}

function need(bytes: Uint8Array, end: number): void {
  if (bytes.length < end) throw new CairnError('wire_truncated', `leaf needs ${end} bytes, has ${bytes.length}`);
}

function assertField(ok: boolean, what: string): void {
  if (!ok) throw new CairnError('wire_malformed', `cannot encode leaf: bad ${what}`);
}
