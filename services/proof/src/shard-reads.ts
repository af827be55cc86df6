// What the proof service needs from the shards. The NATS implementation lives in
// nats-shard-reads.ts; keeping the interface here lets the epoch and proof code be read (and
// tested) without a broker, and isolates the one file that depends on the shard's read protocol.
import type { LeafEntry } from '@cairn/wire';

export interface TreeHead {
  readonly size: number;
  readonly root: Uint8Array;
}

/** One record as a shard stores it. */
export interface ShardRecord {
  readonly leafIndex: number;
  readonly entry: LeafEntry;
  /** Canonical value bytes, or undefined once erased. */
  readonly value: Uint8Array | undefined;
  readonly erased: boolean;
  /** Canonical meta bytes of the record's transaction. */
  readonly meta: Uint8Array;
}

export interface ShardTx {
  readonly id: string;
  readonly meta: Uint8Array;
  readonly records: readonly ShardRecord[];
}

export interface ShardReads {
  /** The shard's head after every message with stream sequence <= seq on its subject. */
  headAt(shard: number, seq: number, timeoutMs: number): Promise<TreeHead>;
  /** The version of `key` that the shard's tree of `size` leaves holds, if any. */
  recordAt(shard: number, key: string, size: number): Promise<ShardRecord | undefined>;
  /** Versions 1.. of `key` below tree size `size`, oldest first, at most `limit`. */
  history(shard: number, key: string, size: number, limit: number): Promise<ShardRecord[]>;
  /** The part of transaction `id` on this shard, if the tree of `size` leaves holds it. */
  transaction(shard: number, id: string, size: number): Promise<ShardTx | undefined>;
  inclusionProof(shard: number, index: number, size: number): Promise<Uint8Array[]>;
  consistencyProof(shard: number, size1: number, size2: number): Promise<Uint8Array[]>;
}
