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
 * reached from each record directly, so deciding costs no map lookups per record.
 */
export interface KeySlot {
  /** State before the batch (undefined: absent). */
  initial: KeyState | undefined;
  /** State after the transactions decided so far. */
  state: KeyState | undefined;
  /** What the transaction being decided wrote, valid while pendingTx is its ordinal. */
  pending: KeyState | undefined;
  pendingTx: number;
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

export interface AcceptedRecord {
  readonly record: PreparedRecord;
  /** Ordinal of its transaction among the batch's committed transactions. */
  readonly txOrdinal: number;
  readonly version: number;
  readonly leafIndex: number;
}

export interface BatchDecisions {
  readonly decisions: Decision[];
  readonly accepted: AcceptedRecord[];
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
  const accepted: AcceptedRecord[] = [];
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
    for (const record of tx.records) {
      const slot = record.slot as KeySlot;
      if (slot.pendingTx === ordinal) {
        slot.state = slot.pending;
        slot.pendingTx = -1;
      }
    }
    const txOrdinal = committed.length;
    committed.push({ tx, firstLeaf: next });
    tx.records.forEach((record, i) => {
      const location = outcome.records[i] as RecordLocation;
      accepted.push({ record, txOrdinal, version: location.version, leafIndex: location.leafIndex });
    });
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
    const current = slot.pendingTx === ordinal ? slot.pending : slot.state;
    const currentVersion = current?.version ?? 0;
    const expect = record.expect;
    if (expect !== undefined) {
      const holds = 'absent' in expect ? current === undefined : currentVersion === expect.version;
      if (!holds) return { failure: { record: i, currentVersion } };
    }
    const state = { version: currentVersion + 1, leafIndex: firstLeaf + i };
    slot.pending = state;
    slot.pendingTx = ordinal;
    records.push({ key: record.key, version: state.version, leafIndex: state.leafIndex });
  }
  return { records };
}
