/* eslint no-bitwise: "error" */
import { sha256 } from '@noble/hashes/sha2.js';
import { MerkleError, MerkleErrorCode } from './errors.js';

/** Every hash in the tree is a SHA-256 digest; any other length is malformed input. */
export const HASH_BYTES = 32;

/** RFC 6962 domain separation: leaves and interior nodes can never collide. */
export const LEAF_PREFIX = 0x00;
export const NODE_PREFIX = 0x01;

/** Leaf inputs up to this size are hashed from a reused buffer; longer ones are streamed. */
export const LEAF_SCRATCH_BYTES_MAX = 4096;

/**
 * SHA-256 with RFC 6962 domain separation. Implementations must give byte-identical results
 * (the tests check them against each other); they differ only in speed and where they run.
 * Returned arrays are fresh and owned by the caller.
 */
export interface Hasher {
  readonly name: string;
  sha256(data: Uint8Array): Uint8Array;
  /** SHA-256(0x00 || data) */
  leaf(data: Uint8Array): Uint8Array;
  /** SHA-256(0x01 || left || right); both must be HASH_BYTES long. */
  node(left: Uint8Array, right: Uint8Array): Uint8Array;
}

export function assertHash(hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_BYTES) {
    const got = hash instanceof Uint8Array ? `${hash.length} bytes` : typeof hash;
    throw new MerkleError(MerkleErrorCode.BadHashLength, `${what} must be ${HASH_BYTES} bytes, got ${got}`);
  }
}

/**
 * Fixed-layout buffers reused by one hasher so that hot paths (node hashing during appends and
 * verification) do not allocate a concatenation per call. Safe because hashing is synchronous
 * and never calls back into user code.
 */
export class HashScratch {
  readonly node = new Uint8Array(1 + 2 * HASH_BYTES);
  readonly leaf = new Uint8Array(1 + LEAF_SCRATCH_BYTES_MAX);

  constructor() {
    this.node[0] = NODE_PREFIX;
    this.leaf[0] = LEAF_PREFIX;
  }

  fillNode(left: Uint8Array, right: Uint8Array): Uint8Array {
    assertHash(left, 'left child hash');
    assertHash(right, 'right child hash');
    this.node.set(left, 1);
    this.node.set(right, 1 + HASH_BYTES);
    return this.node;
  }

  /** The prefixed leaf input in the reused buffer, or undefined when it does not fit. */
  fillLeaf(data: Uint8Array): Uint8Array | undefined {
    if (data.length > LEAF_SCRATCH_BYTES_MAX) return undefined;
    this.leaf.set(data, 1);
    return this.leaf.subarray(0, 1 + data.length);
  }
}

const LEAF_PREFIX_BYTES = new Uint8Array([LEAF_PREFIX]);

function createNobleHasher(): Hasher {
  const scratch = new HashScratch();
  return {
    name: 'noble',
    sha256: (data) => sha256(data),
    leaf(data) {
      const prefixed = scratch.fillLeaf(data);
      if (prefixed !== undefined) return sha256(prefixed);
      return sha256.create().update(LEAF_PREFIX_BYTES).update(data).digest();
    },
    node: (left, right) => sha256(scratch.fillNode(left, right)),
  };
}

/** The default hasher: pure JavaScript (@noble/hashes), runs anywhere including browsers. */
export const nobleHasher: Hasher = createNobleHasher();
