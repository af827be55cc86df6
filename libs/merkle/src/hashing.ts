/* eslint no-bitwise: "error" */
import { assertHash, nobleHasher, type Hasher } from './hasher.js';

/** RFC 6962 leaf hash: SHA-256(0x00 || data). */
export function leafHash(data: Uint8Array, hasher: Hasher = nobleHasher): Uint8Array {
  return hasher.leaf(data);
}

/** RFC 6962 interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array, hasher: Hasher = nobleHasher): Uint8Array {
  assertHash(left, 'left child hash');
  assertHash(right, 'right child hash');
  return hasher.node(left, right);
}

/** Root of the empty tree: SHA-256 of no bytes (RFC 9162 2.1.1). */
export function emptyRoot(hasher: Hasher = nobleHasher): Uint8Array {
  return hasher.sha256(new Uint8Array(0));
}
