// After the load: every promise the ledger made to the generator, checked through the verifying
// SDK (signatures, inclusion and consistency against the pinned key). Nothing here trusts the
// ingest: acknowledgements are the claims under test, the SDK's verified answers the evidence.
//
// - every acknowledged transaction is proven at a signed state with the versions, leaf indexes,
//   values and meta it was acknowledged with, and its receipt's shard heads are proven prefixes;
// - a refused transaction wrote nothing (a sample of them is looked up by id);
// - every hot key's history is versions 1..n without a gap, each version written by an
//   acknowledged transaction with the value it sent, none by a refused one;
// - a SKU's stock is its initial stock minus the committed units, step by step (no lost update);
// - no token version was acknowledged twice, and each token's owner chain follows its transfers;
// - the SDK's trusted checkpoint only moved forward.
import { RequestError, VerifyError, type CairnClient, type VerifiedRecord } from '@cairn/client';
import { canonicalJsonBytes, type JsonValue } from '@cairn/wire';
import { setTimeout as sleep } from 'node:timers/promises';
import { RunLog, type Ack } from './log.js';
import { forEachLimited } from './pool.js';

export const INVARIANTS = [
  'ack_proven',
  'unresolved',
  'read_failed',
  'history_gap',
  'unacknowledged_version',
  'refused_committed',
  'version_mismatch',
  'value_mismatch',
  'ack_missing',
  'stock_balance',
  'lost_update',
  'version_won_twice',
  'owner_chain',
  'latest_mismatch',
  'checkpoint_moved_back',
] as const;
export type Invariant = (typeof INVARIANTS)[number];

/** A read the proof service pushed back on (503) is retried this many times, honouring Retry-After. */
export const READ_RETRIES_MAX = 20;
/** Pause before a retried read when the answer named no Retry-After, times the attempt number. */
export const READ_RETRY_PAUSE_MS = 25;
/** Longest pause between two attempts of one read. */
export const READ_RETRY_PAUSE_MS_MAX = 1_000;

/** Refused transactions looked up by id (an even sample when there are more). */
export const REFUSALS_CHECKED_MAX = 200;

/** Violations kept with their details; the rest are only counted. */
export const VIOLATIONS_KEPT_MAX = 1_000;

export interface Violation {
  readonly invariant: Invariant;
  readonly detail: string;
  readonly key?: string;
  readonly tx?: string;
}

export interface CheckReport {
  /** Acknowledged transactions proven (receipt and records). */
  readonly transactions_checked: number;
  readonly records_checked: number;
  /** Refused transactions shown absent from the ledger (a sample of at most REFUSALS_CHECKED_MAX). */
  readonly refusals_checked: number;
  /** Hot keys (SKUs, tokens) whose whole history was read and checked. */
  readonly keys_checked: number;
  readonly versions_checked: number;
  /** Every trusted checkpoint size the SDK saved, in order. */
  readonly checkpoint_sizes: readonly number[];
  readonly violations: readonly Violation[];
  readonly violations_total: number;
}

export interface CheckOptions {
  readonly concurrency: number;
  /** The sizes the SDK's state store saved (RecordingStore.sizes), read when the checks end. */
  readonly checkpointSizes: () => readonly number[];
}

class Findings {
  readonly kept: Violation[] = [];
  total = 0;

  add(v: Violation): void {
    this.total += 1;
    if (this.kept.length < VIOLATIONS_KEPT_MAX) this.kept.push(v);
  }
}

interface Index {
  readonly acks: ReadonlyMap<string, Ack>;
  readonly refused: ReadonlySet<string>;
}

type Counts = { transactions: number; records: number; refusals: number; keys: number; versions: number };

export async function checkRun(log: RunLog, sdk: CairnClient, o: CheckOptions): Promise<CheckReport> {
  const found = new Findings();
  const counts: Counts = { transactions: 0, records: 0, refusals: 0, keys: 0, versions: 0 };
  for (const u of log.uncertain) found.add({ invariant: 'unresolved', tx: u.tx.id, detail: `no deciding answer after every resend (last: ${u.code})` });
  await forEachLimited(log.acks, o.concurrency, async (ack) => {
    await proveAck(ack, sdk, found);
    counts.transactions += 1;
    counts.records += ack.tx.records.length;
  });
  // After every acknowledgement is proven, the signed state covers everything the load sent.
  await forEachLimited(sample(log.refused, REFUSALS_CHECKED_MAX), o.concurrency, async (refusal) => {
    await checkAbsent(refusal.tx.id, sdk, found);
    counts.refusals += 1;
  });
  await checkKeys(log, sdk, o.concurrency, found, counts);
  const sizes = await checkTrust(sdk, o.checkpointSizes, found);
  return {
    transactions_checked: counts.transactions,
    records_checked: counts.records,
    refusals_checked: counts.refusals,
    keys_checked: counts.keys,
    versions_checked: counts.versions,
    checkpoint_sizes: sizes,
    violations: found.kept,
    violations_total: found.total,
  };
}

/** Every hot key's proven history against the acknowledgements, then its scenario's own rules. */
async function checkKeys(log: RunLog, sdk: CairnClient, concurrency: number, found: Findings, counts: Counts): Promise<void> {
  const index: Index = { acks: new Map(log.acks.map((a) => [a.tx.id, a])), refused: new Set(log.refused.map((r) => r.tx.id)) };
  const keys = [...log.skus.map((k) => ({ key: k, check: checkStock })), ...log.tokens.map((k) => ({ key: k, check: checkToken }))];
  await forEachLimited(keys, concurrency, async ({ key, check }) => {
    const records = await readHistory(key, sdk, found);
    if (records === undefined) return;
    counts.keys += 1;
    counts.versions += records.length;
    // The scenario checks run even on a broken chain: each names a different promise.
    checkHistory(key, records, index, log.acks, found);
    check(key, records, log.acks, found);
    await checkLatest(key, records.length, sdk, found);
  });
}

/** Reads the newest signed state last (trust must move forward to it), then the saved sizes. */
async function checkTrust(sdk: CairnClient, savedSizes: () => readonly number[], found: Findings): Promise<number[]> {
  try {
    await patiently(() => sdk.checkpoint());
  } catch (error) {
    found.add({ invariant: 'read_failed', detail: `newest checkpoint: ${describeError(error)}` });
  }
  const sizes = [...savedSizes()];
  checkForward(sizes, found);
  return sizes;
}

function describeError(error: unknown): string {
  if (error instanceof VerifyError || error instanceof RequestError) return `${error.name}(${error.code}): ${error.message}`;
  return String(error);
}

/** Back-pressure is an answer about load, not about the data: the read is retried (bounded). */
async function patiently<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await read();
    } catch (error) {
      const busy = error instanceof RequestError && (error.code === 'backpressure' || error.code === 'unavailable');
      if (!busy || attempt > READ_RETRIES_MAX) throw error;
      const hinted = error.retryAfterSeconds === undefined ? READ_RETRY_PAUSE_MS * attempt : error.retryAfterSeconds * 1_000;
      await sleep(Math.min(hinted, READ_RETRY_PAUSE_MS_MAX));
    }
  }
}

async function proveAck(ack: Ack, sdk: CairnClient, found: Findings): Promise<void> {
  try {
    const proven = await patiently(() => sdk.proveReceipt(ack.tx, ack.receipt));
    if (!proven.receiptVerified) found.add({ invariant: 'ack_proven', tx: ack.tx.id, detail: `receipt heads not proven: ${JSON.stringify(proven.heads)}` });
  } catch (error) {
    found.add({ invariant: 'ack_proven', tx: ack.tx.id, detail: describeError(error) });
  }
}

function sample<T>(items: readonly T[], max: number): readonly T[] {
  if (items.length <= max) return items;
  return Array.from({ length: max }, (_, i) => items[Math.floor((i * items.length) / max)] as T);
}

/** A refused transaction wrote nothing: its id is unknown to the ledger. */
async function checkAbsent(id: string, sdk: CairnClient, found: Findings): Promise<void> {
  try {
    const proven = await patiently(() => sdk.getTransaction(id));
    found.add({ invariant: 'refused_committed', tx: id, detail: `refused, yet ${proven.records.length} records of it are proven at epoch ${proven.epoch}` });
  } catch (error) {
    if (error instanceof RequestError && error.code === 'not_found') return;
    found.add({ invariant: 'read_failed', tx: id, detail: `transaction: ${describeError(error)}` });
  }
}

async function readHistory(key: string, sdk: CairnClient, found: Findings): Promise<readonly VerifiedRecord[] | undefined> {
  try {
    return (await patiently(() => sdk.history(key))).records;
  } catch (error) {
    found.add({ invariant: 'read_failed', key, detail: `history: ${describeError(error)}` });
    return undefined;
  }
}

async function checkLatest(key: string, versions: number, sdk: CairnClient, found: Findings): Promise<void> {
  try {
    const latest = await patiently(() => sdk.get(key));
    if (latest.record.version !== versions) found.add({ invariant: 'latest_mismatch', key, detail: `latest is v${latest.record.version}, history ends at v${versions}` });
  } catch (error) {
    found.add({ invariant: 'read_failed', key, detail: `latest: ${describeError(error)}` });
  }
}

function sameJson(bytes: Uint8Array | null, value: unknown): boolean {
  if (bytes === null) return false;
  const sent = canonicalJsonBytes(value as JsonValue);
  return bytes.length === sent.length && bytes.every((b, i) => b === sent[i]);
}

/**
 * Versions 1..n in order, each written by an acknowledged transaction that was told that version
 * and sent that value, and every acknowledged version present.
 */
function checkHistory(key: string, records: readonly VerifiedRecord[], index: Index, acks: readonly Ack[], found: Findings): void {
  for (let i = 0; i < records.length; i += 1) {
    const r = records[i] as VerifiedRecord;
    if (r.version !== i + 1) {
      found.add({ invariant: 'history_gap', key, detail: `history position ${i} holds v${r.version}, expected v${i + 1}` });
      return;
    }
    const ack = index.acks.get(r.txId);
    if (ack === undefined) {
      const refused = index.refused.has(r.txId);
      found.add({ invariant: refused ? 'refused_committed' : 'unacknowledged_version', key, tx: r.txId, detail: `v${r.version} was written by ${refused ? 'a transaction the ledger refused' : 'no acknowledged transaction'}` });
      continue;
    }
    const promised = RunLog.versionOf(ack, key);
    if (promised !== r.version) {
      found.add({ invariant: 'version_mismatch', key, tx: r.txId, detail: `history has it at v${r.version}, its receipt said v${String(promised)}` });
    }
    if (!sameJson(r.value, RunLog.valueOf(ack.tx, key))) {
      found.add({ invariant: 'value_mismatch', key, tx: r.txId, detail: `v${r.version} holds ${JSON.stringify(r.json)}, the transaction sent ${JSON.stringify(RunLog.valueOf(ack.tx, key))}` });
    }
  }
  for (const ack of acks) {
    const version = RunLog.versionOf(ack, key);
    if (version !== undefined && (version > records.length || records[version - 1]?.txId !== ack.tx.id)) {
      found.add({ invariant: 'ack_missing', key, tx: ack.tx.id, detail: `acknowledged at v${version}, history has ${records.length} versions${version <= records.length ? ` and v${version} is ${records[version - 1]?.txId}` : ''}` });
    }
  }
}

function qtyOf(record: VerifiedRecord): number | undefined {
  const json = record.json as Record<string, unknown> | null;
  return typeof json?.['qty'] === 'number' ? json['qty'] : undefined;
}

/** Final stock = initial - committed units; and each version took exactly its order's units from the one before. */
function checkStock(key: string, records: readonly VerifiedRecord[], acks: readonly Ack[], found: Findings): void {
  let initial: number | undefined;
  let units = 0;
  let orders = 0;
  const unitsByTx = new Map<string, number>();
  for (const ack of acks) {
    const e = ack.effect;
    if (e.kind === 'stock_init' && e.sku === key) initial = e.qty;
    if (e.kind === 'checkout' && e.sku === key) {
      units += e.units;
      orders += 1;
      unitsByTx.set(ack.tx.id, e.units);
    }
  }
  const final = qtyOf(records[records.length - 1] as VerifiedRecord);
  if (initial === undefined || final === undefined || final !== initial - units || records.length !== 1 + orders) {
    found.add({ invariant: 'stock_balance', key, detail: `stock is ${String(final)} at v${records.length}; initial ${String(initial)} minus ${units} units of ${orders} acknowledged orders is ${initial === undefined ? '?' : initial - units} at v${1 + orders}` });
  }
  for (let i = 1; i < records.length; i += 1) {
    const r = records[i] as VerifiedRecord;
    const before = qtyOf(records[i - 1] as VerifiedRecord);
    const took = unitsByTx.get(r.txId);
    if (before === undefined || took === undefined || qtyOf(r) !== before - took) {
      found.add({ invariant: 'lost_update', key, tx: r.txId, detail: `v${r.version} holds qty ${String(qtyOf(r))}; v${r.version - 1} held ${String(before)} and its order took ${String(took)}` });
    }
  }
}

function ownerOf(record: VerifiedRecord | undefined): unknown {
  return (record?.json as Record<string, unknown> | null)?.['owner'];
}

/** Each version won once; each transfer's seller is the owner of the version before; the chain ends at the last winner. */
function checkToken(key: string, records: readonly VerifiedRecord[], acks: readonly Ack[], found: Findings): void {
  const winners = new Map<number, string[]>();
  for (const ack of acks) {
    const e = ack.effect;
    if (e.kind !== 'transfer' || e.token !== key) continue;
    const version = RunLog.versionOf(ack, key) ?? 0;
    winners.set(version, [...(winners.get(version) ?? []), ack.tx.id]);
    if (e.expected_version !== version - 1) found.add({ invariant: 'owner_chain', key, tx: ack.tx.id, detail: `won v${version} with expect v${e.expected_version}` });
  }
  for (const [version, ids] of winners) {
    if (ids.length > 1) found.add({ invariant: 'version_won_twice', key, detail: `v${version} was acknowledged to ${ids.length} transfers: ${ids.join(', ')}` });
  }
  for (let i = 1; i < records.length; i += 1) {
    const r = records[i] as VerifiedRecord;
    const from = (r.json as Record<string, unknown> | null)?.['from'];
    if (from !== ownerOf(records[i - 1])) found.add({ invariant: 'owner_chain', key, tx: r.txId, detail: `v${r.version} was sold by ${JSON.stringify(from)}, but v${r.version - 1} belonged to ${JSON.stringify(ownerOf(records[i - 1]))}` });
  }
  // The mint is v1; the newest version is the last acknowledged transfer's.
  const last = Math.max(1, ...winners.keys());
  if (last !== records.length) found.add({ invariant: 'owner_chain', key, detail: `the last acknowledged version is v${last}, the token is at v${records.length}` });
}

function checkForward(sizes: readonly number[], found: Findings): void {
  for (let i = 1; i < sizes.length; i += 1) {
    const before = sizes[i - 1] as number;
    const now = sizes[i] as number;
    if (!(now >= before)) found.add({ invariant: 'checkpoint_moved_back', detail: `the trusted checkpoint went from size ${before} to ${now}` });
  }
}
