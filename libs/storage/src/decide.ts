import { equalBytes } from './bytes.js';
import type { PreparedRecord, PreparedTx } from './input.js';
import type { TxRecord } from './layout.js';

// What each transaction of a batch does, decided on the main thread in log order before any hash
// is computed: versions and leaf indexes depend only on the order, never on hashes or clocks.

export type TxStatus = 'committed' | 'duplicate' | 'id_conflict' | 'precondition_failed';

export interface RecordLocation {
  readonly key: string;
  readonly version: number;
  readonly leafIndex: number;
}

export interface KeyState {
  readonly version: number;
  readonly leafIndex: number;
}

/**
 * Where deciding a batch keeps one key's state: found once per batch (cache or RocksDB) and
 * reached from each record directly, so deciding costs no map lookups per record. States are
 * plain numbers (version 0: absent) so deciding allocates nothing per record for them.
 */
export class KeySlot {
  /** Version and leaf index before the batch. */
  initialVersion: number;
  initialLeaf: number;
  /** After the transactions decided so far. */
  version: number;
  leaf: number;
  /** What the transaction being decided wrote, valid while pendingTx is its ordinal. */
  pendingVersion = 0;
  pendingLeaf = -1;
  pendingTx = -1;
  /** The key cache's handle from the lookup that made this slot (KeyCache.lookup), to set it back. */
  cacheSlot = -1;
  cacheGeneration = -1;

  /** A class for the reason PreparedRecord is one (input.ts). */
  constructor(
    readonly key: string,
    /** keyHash(key), computed once per record while its bytes were copied (input.ts). */
    readonly hash: number,
    version: number,
    leaf: number,
  ) {
    this.initialVersion = version;
    this.initialLeaf = leaf;
    this.version = version;
    this.leaf = leaf;
  }
}

export interface PreconditionFailure {
  /** Index of the first record whose expectation did not hold. */
  readonly record: number;
  /** The key's version when it was checked (0: absent). */
  readonly currentVersion: number;
}

export interface Decision {
  readonly tx: PreparedTx;
  readonly status: TxStatus;
  /** Committed: the new locations. Duplicate in this batch: the original's. Else empty. */
  records: RecordLocation[];
  readonly failure?: PreconditionFailure;
  /** Duplicate of a transaction committed by an earlier batch: its locations are read later. */
  readonly original?: TxRecord;
}

export interface BatchDecisions {
  readonly decisions: Decision[];
  /** Records that commit, in leaf order; each holds its version, leaf index and tx ordinal. */
  readonly accepted: PreparedRecord[];
  /** Committed transactions in order, with their first leaf. */
  readonly committed: { readonly tx: PreparedTx; readonly firstLeaf: number }[];
}

/**
 * `stored`: the transaction record of every id of the batch that an earlier batch committed.
 * Every record's `slot` holds its key's state; slots end at the state after the batch.
 */
export function decideBatch(
  txs: readonly PreparedTx[],
  firstLeaf: number,
  stored: ReadonlyMap<string, TxRecord>,
): BatchDecisions {
  const decisions: Decision[] = [];
  const accepted: PreparedRecord[] = [];
  const committed: { tx: PreparedTx; firstLeaf: number }[] = [];
  const inBatch = new Map<string, Decision>();
  let next = firstLeaf;
  for (let ordinal = 0; ordinal < txs.length; ordinal += 1) {
    const tx = txs[ordinal] as PreparedTx;
    const earlier = inBatch.get(tx.id);
    const original = stored.get(tx.id);
    if (earlier !== undefined) {
      const same = equalBytes(earlier.tx.contentHash, tx.contentHash);
      decisions.push({ tx, status: same ? 'duplicate' : 'id_conflict', records: same ? earlier.records : [] });
      continue;
    }
    if (original !== undefined) {
      const same = equalBytes(original.contentHash, tx.contentHash);
      decisions.push(same ? { tx, status: 'duplicate', records: [], original } : { tx, status: 'id_conflict', records: [] });
      continue;
    }
    const outcome = applyTx(tx, ordinal, next);
    if ('failure' in outcome) {
      decisions.push({ tx, status: 'precondition_failed', records: [], failure: outcome.failure });
      continue;
    }
    const txOrdinal = committed.length;
    for (const record of tx.records) {
      const slot = record.slot as KeySlot;
      if (slot.pendingTx === ordinal) {
        slot.version = slot.pendingVersion;
        slot.leaf = slot.pendingLeaf;
        slot.pendingTx = -1;
      }
      record.txOrdinal = txOrdinal;
      accepted.push(record);
    }
    committed.push({ tx, firstLeaf: next });
    next += tx.records.length;
    const decision: Decision = { tx, status: 'committed', records: outcome.records };
    decisions.push(decision);
    inBatch.set(tx.id, decision);
  }
  return { decisions, accepted, committed };
}

/** All records of a transaction or none: writes go to the slots' pending state until it holds. */
function applyTx(
  tx: PreparedTx,
  ordinal: number,
  firstLeaf: number,
): { records: RecordLocation[] } | { failure: PreconditionFailure } {
  const records: RecordLocation[] = [];
  for (let i = 0; i < tx.records.length; i += 1) {
    const record = tx.records[i] as PreparedRecord;
    const slot = record.slot as KeySlot;
    const currentVersion = slot.pendingTx === ordinal ? slot.pendingVersion : slot.version;
    const expect = record.expect;
    if (expect !== undefined) {
      const holds = 'absent' in expect ? currentVersion === 0 : currentVersion === expect.version;
      if (!holds) return { failure: { record: i, currentVersion } };
    }
    // A failing transaction leaves these in its records, unused: only accepted records are read.
    record.version = currentVersion + 1;
    record.leafIndex = firstLeaf + i;
    slot.pendingVersion = record.version;
    slot.pendingLeaf = record.leafIndex;
    slot.pendingTx = ordinal;
    records.push({ key: record.key, version: record.version, leafIndex: record.leafIndex });
  }
  return { records };
}
