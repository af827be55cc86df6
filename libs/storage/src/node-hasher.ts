import { hash } from 'node:crypto';
import type { Hasher } from '@cairn/merkle';
import { nativeHash } from './native-hash.js';

// node:crypto returns Buffers; callers get plain Uint8Arrays (views, no copy), whose slice() copies.
const digest = (data: Uint8Array): Uint8Array => {
  const out = hash('sha256', data, 'buffer');
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};

/**
 * RFC 6962 hashing on node:crypto (OpenSSL, SHA-NI where the CPU has it), with node hashes on the
 * native addon when it is built. Gives the same bytes as @cairn/merkle's hashers (tested).
 */
export function createNodeHasher(): Hasher {
  const node = new Uint8Array(65);
  node[0] = 0x01;
  const leafScratch = new Uint8Array(1 + 4096);
  // The addon's call costs about a seventh of node:crypto's on a 65-byte node (bench/native).
  const native = nativeHash;
  const pair = new Uint8Array(64);
  return {
    name: 'node-crypto',
    sha256: digest,
    leaf(data) {
      if (data.length < leafScratch.length) {
        leafScratch.set(data, 1);
        return digest(leafScratch.subarray(0, 1 + data.length));
      }
      const prefixed = new Uint8Array(1 + data.length);
      prefixed.set(data, 1);
      return digest(prefixed);
    },
    node(left, right) {
      if (left.length !== 32 || right.length !== 32) throw new RangeError('node children must be 32 bytes');
      if (native !== undefined) {
        pair.set(left, 0);
        pair.set(right, 32);
        native.hashPairs(pair, 0, 1, 0);
        return pair.slice(0, 32);
      }
      node.set(left, 1);
      node.set(right, 33);
      return digest(node);
    },
  };
}
