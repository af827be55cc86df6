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
  /** Keys written for the first time by this batch. */
  readonly newKeys: number;
}

/**
 * `stored`: the transaction record of every id of the batch that an earlier batch committed.
 * `keys`: the latest state of every key the batch touches (undefined: absent); updated in place
 * to the state after the batch.
 */
export function decideBatch(
  txs: readonly PreparedTx[],
  firstLeaf: number,
  stored: ReadonlyMap<string, TxRecord>,
  keys: Map<string, KeyState | undefined>,
): BatchDecisions {
  const decisions: Decision[] = [];
  const accepted: AcceptedRecord[] = [];
  const committed: { tx: PreparedTx; firstLeaf: number }[] = [];
  const inBatch = new Map<string, Decision>();
  let next = firstLeaf;
  let newKeys = 0;
  for (const tx of txs) {
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
    const outcome = applyTx(tx, next, keys);
    if ('failure' in outcome) {
      decisions.push({ tx, status: 'precondition_failed', records: [], failure: outcome.failure });
      continue;
    }
    const txOrdinal = committed.length;
    committed.push({ tx, firstLeaf: next });
    tx.records.forEach((record, i) => {
      const location = outcome.records[i] as RecordLocation;
      accepted.push({ record, txOrdinal, version: location.version, leafIndex: location.leafIndex });
    });
    for (const [key, state] of outcome.changes) {
      if (keys.get(key) === undefined) newKeys += 1;
      keys.set(key, state);
    }
    next += tx.records.length;
    const decision: Decision = { tx, status: 'committed', records: outcome.records };
    decisions.push(decision);
    inBatch.set(tx.id, decision);
  }
  return { decisions, accepted, committed, newKeys };
}

/** All records of a transaction or none: changes go to an overlay that merges only on success. */
function applyTx(
  tx: PreparedTx,
  firstLeaf: number,
  keys: ReadonlyMap<string, KeyState | undefined>,
): { records: RecordLocation[]; changes: Map<string, KeyState> } | { failure: PreconditionFailure } {
  const changes = new Map<string, KeyState>();
  const records: RecordLocation[] = [];
  for (let i = 0; i < tx.records.length; i += 1) {
    const record = tx.records[i] as PreparedRecord;
    const current = changes.get(record.key) ?? keys.get(record.key);
    const currentVersion = current?.version ?? 0;
    const expect = record.expect;
    if (expect !== undefined) {
      const holds = 'absent' in expect ? current === undefined : currentVersion === expect.version;
      if (!holds) return { failure: { record: i, currentVersion } };
    }
    const state = { version: currentVersion + 1, leafIndex: firstLeaf + i };
    changes.set(record.key, state);
    records.push({ key: record.key, version: state.version, leafIndex: state.leafIndex });
  }
  return { records, changes };
}
