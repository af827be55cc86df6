// What the proof service needs from the shards. The NATS implementation lives in
// nats-shard-reads.ts; keeping the interface here lets the epoch and proof code be read (and
// tested) without a broker, and isolates the one file that depends on the shard's read protocol.
import type { LeafEntry } from '@cairn/wire';

export interface TreeHead {
  readonly size: number;
  readonly root: Uint8Array;
}

/** One leaf as a shard stores it (its meta is its transaction's: see ShardReads.meta). */
export interface ShardLeaf {
  readonly leafIndex: number;
  readonly entry: LeafEntry;
  /** Canonical value bytes, or undefined once erased. */
  readonly value: Uint8Array | undefined;
  readonly erased: boolean;
}

export interface ShardTx {
  readonly id: string;
  /** Canonical meta bytes of the transaction. */
  readonly meta: Uint8Array;
  readonly leaves: readonly ShardLeaf[];
}

/** A leaf with everything a proven read relays about it: its inclusion proof and its transaction's meta. */
export interface ShardProvenLeaf {
  readonly leaf: ShardLeaf;
  /** Inclusion proof of the leaf in the shard's tree of the size asked for. */
  readonly inclusion: Uint8Array[];
  /** As ShardReads.meta: empty when the shard does not know the transaction. */
  readonly meta: Uint8Array;
}

export interface ShardReads {
  /** The shard's head after every message with stream sequence <= seq on its subject. */
  headAt(shard: number, seq: number, timeoutMs: number): Promise<TreeHead>;
  /** The version of `key` that the shard's tree of `size` leaves holds, if any. */
  recordAt(shard: number, key: string, size: number): Promise<ShardLeaf | undefined>;
  /**
   * recordAt, inclusionProof at `size` and meta of its transaction, in one shard request where the
   * shard can answer it (the answer's bytes are the same as from the three calls).
   */
  provenAt(shard: number, key: string, size: number): Promise<ShardProvenLeaf | undefined>;
  /** Versions 1.. of `key` below tree size `size`, oldest first, at most `limit`. */
  history(shard: number, key: string, size: number, limit: number): Promise<ShardLeaf[]>;
  /** The part of transaction `id` on this shard, if the tree of `size` leaves holds it. */
  transaction(shard: number, id: string, size: number): Promise<ShardTx | undefined>;
  /**
   * Canonical meta bytes of transaction `txId` on this shard. Empty when the shard does not know
   * the transaction (a damaged leaf): the client's meta-hash check then names the failure.
   */
  meta(shard: number, txId: string): Promise<Uint8Array>;
  inclusionProof(shard: number, index: number, size: number): Promise<Uint8Array[]>;
  consistencyProof(shard: number, size1: number, size2: number): Promise<Uint8Array[]>;
}
