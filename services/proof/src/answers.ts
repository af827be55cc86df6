// The read-and-verify answers of docs/design/proofs.md. Every answer is built against ONE signed
// head taken at the start of the request, so the checkpoint, the state inclusion proofs and the
// shard sizes all belong together even while new epochs are sealed.
//
// This code relays what the shards and the state log hold; it does not verify it. Verification is
// the client's job, and a tampered shard must reach the client as a failed proof (a typed
// VerifyError there), not as an opaque server error here.
import { createHash } from 'node:crypto';
import { CairnError, shardOfKey, validateKey, txLimitsDefault, type LeafEntry, type Sha256 } from '@cairn/wire';
import { b64 } from './bytes.js';
import { Lru } from './lru.js';
import type { SignedHead } from './sealer.js';
import type { ShardLeaf, ShardReads } from './shard-reads.js';
import type { StateLog, StoredState } from './state-log.js';

export interface EntryJson {
  readonly txId: string;
  readonly key: string;
  readonly version: number;
  readonly valueHash: string;
  readonly metaHash: string;
}

export interface StateJson {
  readonly index: number;
  readonly bytes: string;
  readonly entry: EntryJson;
  readonly inclusion: string[];
}

export interface RecordJson {
  readonly shard: number;
  readonly leafIndex: number;
  readonly entry: EntryJson;
  readonly value: string | null;
  readonly erased: boolean;
  readonly meta: string;
  readonly inclusion: string[];
}

/** One shard's RFC 9162 consistency proof between two of its tree sizes. */
export interface ShardConsistencyJson {
  readonly shard: number;
  readonly from: number;
  readonly to: number;
  readonly proof: string[];
}

export interface AnswerLimits {
  readonly shards: number;
  readonly history_versions_max: number;
  readonly tx_records_max: number;
  /** As the ingest's key_bytes_max: a key it can write must be readable here. */
  readonly key_bytes_max: number;
}

/** Proofs asked of the shards at once for one answer: a long history must not flood the broker. */
const PROOFS_INFLIGHT_MAX = 32;
/**
 * Decoded states of the state log kept, by epoch. A state never changes once appended, and reads
 * cluster on the newest few epochs (one is sealed every epoch_interval_ms), so a small bound hits.
 */
export const STATES_CACHED_MAX = 64;
/**
 * State answers (bytes, entry and inclusion proof) kept, by (epoch, log size). The proof of a leaf
 * in the log's tree of `size` leaves depends only on those leaves, which never change: an entry
 * cannot go stale; a new checkpoint is a new size, hence a new entry.
 */
export const STATE_ANSWERS_CACHED_MAX = 64;
/** The shard of a key by node:crypto's SHA-256: the same digest as @cairn/wire's browser-safe default, at a fraction of its CPU. */
export const nodeSha256: Sha256 = (data) => new Uint8Array(createHash('sha256').update(data).digest());
/** Transaction ids as the ingest accepts (client ids) or assigns them ("~" prefix). */
const TX_ID_PATTERN = /^~?[A-Za-z0-9._:-]{1,128}$/;

export class Answers {
  readonly #keyLimits: typeof txLimitsDefault;
  readonly #states = new Lru<number, Promise<StoredState>>(STATES_CACHED_MAX);
  readonly #stateAnswers = new Lru<string, Promise<StateJson>>(STATE_ANSWERS_CACHED_MAX);

  constructor(
    private readonly log: StateLog,
    private readonly reads: ShardReads,
    private readonly limits: AnswerLimits,
  ) {
    this.#keyLimits = { ...txLimitsDefault, key_bytes_max: limits.key_bytes_max };
  }

  /** `{ checkpoint, origin, size, root }` of the signed head. */
  checkpoint(head: SignedHead, origin: string): { checkpoint: string; origin: string; size: number; root: string } {
    return { checkpoint: head.note, origin, size: head.size, root: b64(head.root) };
  }

  async key(head: SignedHead, key: string, at: number | undefined): Promise<object> {
    const n = stateSize(head, at);
    const shard = this.#shardOf(key);
    const stored = await this.#stored(n);
    const size = shardSize(stored, shard);
    const state = this.#state(stored, head.size);
    state.catch(() => undefined); // awaited below; a record error must not leave it unhandled
    // One shard request for the record, its inclusion proof and its meta (docs/design/proof.md, "Performance").
    const found = size === 0 ? undefined : await this.reads.provenAt(shard, key, size);
    // Not compared with `key` here: a shard answering another key is the client's to catch
    // (entry_mismatch), like every other lie; this service only relays.
    if (found === undefined) throw new CairnError('not_found', `key has no version at state ${n}`);
    return { checkpoint: head.note, state: await state, record: recordJson(shard, found.leaf, found.inclusion, found.meta) };
  }

  async history(head: SignedHead, key: string, at: number | undefined, signal?: AbortSignal): Promise<object> {
    const n = stateSize(head, at);
    const shard = this.#shardOf(key);
    const stored = await this.#stored(n);
    const size = shardSize(stored, shard);
    const max = this.limits.history_versions_max;
    const found = size === 0 ? [] : await this.reads.history(shard, key, size, max + 1);
    if (found.length === 0) throw new CairnError('not_found', `key has no version at state ${n}`);
    if (found.length > max) throw new CairnError('too_many_records', `key has more than ${max} versions (history_versions_max)`);
    // One meta lookup per transaction, shared by its leaves.
    const metas = new Map<string, Promise<Uint8Array>>();
    const metaOf = (txId: string): Promise<Uint8Array> => {
      let meta = metas.get(txId);
      if (meta === undefined) {
        meta = this.reads.meta(shard, txId);
        meta.catch(() => undefined);
        metas.set(txId, meta);
      }
      return meta;
    };
    const records = await boundedMap(found, (leaf) => this.#record(shard, leaf, size, metaOf(leaf.entry.txId)), signal);
    return { checkpoint: head.note, state: await this.#state(stored, head.size), records };
  }

  async transaction(head: SignedHead, id: string, signal?: AbortSignal): Promise<object> {
    if (!TX_ID_PATTERN.test(id)) throw new CairnError('invalid_id', 'transaction id is malformed', { path: 'id' });
    const stored = await this.#stored(stateSize(head, undefined));
    const parts = await Promise.all(
      stored.state.shards.map(async (s, shard) => ({ shard, size: s.size, tx: s.size === 0 ? undefined : await this.reads.transaction(shard, id, s.size) })),
    );
    const found = parts.filter((p) => p.tx !== undefined);
    if (found.length === 0) throw new CairnError('not_found', `transaction ${id} is not in state ${stored.epoch}`);
    const total = found.reduce((sum, p) => sum + (p.tx?.leaves.length ?? 0), 0);
    if (total > this.limits.tx_records_max) throw new CairnError('too_many_records', `transaction has ${total} records, above tx_records_max`);
    const jobs = found.flatMap((p) => (p.tx === undefined ? [] : p.tx.leaves.map((leaf) => ({ shard: p.shard, size: p.size, leaf, meta: p.tx?.meta as Uint8Array }))));
    const records = await boundedMap(jobs, (j) => this.#record(j.shard, j.leaf, j.size, Promise.resolve(j.meta)), signal);
    return { checkpoint: head.note, state: await this.#state(stored, head.size), records };
  }

  async consistency(head: SignedHead, from: number, to: number | undefined): Promise<object> {
    const n2 = to ?? head.size;
    if (head.size === 0) throw noEpoch();
    if (!Number.isSafeInteger(from) || from < 1 || !Number.isSafeInteger(n2) || n2 < from) {
      // Without `to`, a `from` past the checkpoint is a size not signed yet (404), not a bad query.
      if (to === undefined && Number.isSafeInteger(from) && from > head.size) throw notSigned(from, head);
      throw new CairnError('bad_query', `need 1 <= from <= to, got from=${from} to=${n2}`);
    }
    if (n2 > head.size) throw notSigned(n2, head);
    const [s1, s2] = await Promise.all([this.#stored(from), this.#stored(n2)]);
    const shardProofs = s2.state.shards.map(async (h2, shard) => {
      const h1 = s1.state.shards[shard];
      if (h1 === undefined) throw new CairnError('internal', `state ${from} has no shard ${shard}`);
      const proof = h1.size === 0 || h1.size === h2.size ? [] : await this.reads.consistencyProof(shard, h1.size, h2.size);
      return { shard, proof: proof.map(b64) };
    });
    const [fromState, toState, proof, shards] = await Promise.all([
      this.#state(s1, n2),
      this.#state(s2, n2),
      this.log.consistencyProof(from, n2),
      Promise.all(shardProofs),
    ]);
    return { checkpoint: head.note, from: fromState, to: toState, proof: proof.map(b64), shards };
  }

  /**
   * The consistency proof of one shard's tree from size `from` to size `to`. `to` must not pass
   * that shard's size in the current signed state: a client ties a receipt to the signed state, and
   * a proof up to an unsigned size (the shard's newer head) would tie it to nothing it can check.
   */
  async shardConsistency(head: SignedHead, shard: number, from: number, to: number, signal?: AbortSignal): Promise<ShardConsistencyJson> {
    if (!Number.isSafeInteger(shard) || shard < 0 || shard >= this.limits.shards) {
      throw new CairnError('not_found', `no shard ${shard} (shards: ${this.limits.shards})`, { path: 'shard' });
    }
    if (!Number.isSafeInteger(from) || from < 1 || !Number.isSafeInteger(to) || to < from) {
      throw new CairnError('bad_query', `need 1 <= from <= to, got from=${from} to=${to}`);
    }
    if (head.size === 0) throw noEpoch();
    const signed = shardSize(await this.#stored(head.size), shard);
    if (to > signed) throw new CairnError('not_found', `shard ${shard} size ${to} is not signed yet (size ${signed} in state ${head.size})`, { path: 'to' });
    // Equal sizes need no shard read: the RFC 9162 proof between a tree and itself is empty.
    if (from === to) return { shard, from, to, proof: [] };
    if (signal?.aborted === true) throw abandoned();
    const proof = await this.reads.consistencyProof(shard, from, to);
    return { shard, from, to, proof: proof.map(b64) };
  }

  #shardOf(key: string): number {
    validateKey(key, this.#keyLimits, 'key');
    return shardOfKey(key, this.limits.shards, nodeSha256);
  }

  /** The state of epoch `epoch`, read and decoded once while it stays among the STATES_CACHED_MAX last used. */
  #stored(epoch: number): Promise<StoredState> {
    return this.#states.getOrMake(epoch, () => this.log.state(epoch));
  }

  /** The state answer for `stored` proven in the log's tree of `size` leaves; built once per (epoch, size). */
  #state(stored: StoredState, size: number): Promise<StateJson> {
    return this.#stateAnswers.getOrMake(`${stored.epoch}/${size}`, async () => {
      const inclusion = await this.log.inclusionProof(stored.epoch - 1, size);
      return { index: stored.epoch - 1, bytes: b64(stored.bytes), entry: entryJson(stored.entry), inclusion: inclusion.map(b64) };
    });
  }

  /** The record's inclusion proof is fetched while its meta (already asked for) arrives. */
  async #record(shard: number, r: ShardLeaf, size: number, meta: Promise<Uint8Array>): Promise<RecordJson> {
    const [inclusion, metaBytes] = await Promise.all([this.reads.inclusionProof(shard, r.leafIndex, size), meta]);
    return recordJson(shard, r, inclusion, metaBytes);
  }
}

function recordJson(shard: number, r: ShardLeaf, inclusion: readonly Uint8Array[], meta: Uint8Array): RecordJson {
  return {
    shard,
    leafIndex: r.leafIndex,
    entry: entryJson(r.entry),
    value: r.value === undefined ? null : b64(r.value),
    erased: r.erased,
    meta: b64(meta),
    inclusion: inclusion.map(b64),
  };
}

export function entryJson(e: LeafEntry): EntryJson {
  return { txId: e.txId, key: e.key, version: e.version, valueHash: b64(e.valueHash), metaHash: b64(e.metaHash) };
}

function notSigned(size: number, head: SignedHead): CairnError {
  return new CairnError('not_found', `state ${size} is not signed yet (checkpoint size ${head.size})`);
}

function abandoned(): CairnError {
  return new CairnError('timeout', 'the answer was abandoned (client gone or answer_ms_max passed)');
}

function noEpoch(): CairnError {
  return new CairnError('unavailable', 'no epoch is sealed yet', { retryAfterSeconds: 1 });
}

/** The state a read answers at: `at` when given (1..checkpoint size), else the checkpoint's. */
function stateSize(head: SignedHead, at: number | undefined): number {
  if (head.size === 0) throw noEpoch();
  if (at === undefined) return head.size;
  if (!Number.isSafeInteger(at) || at < 1) throw new CairnError('bad_query', `at must be a checkpoint size >= 1, got ${at}`, { path: 'at' });
  if (at > head.size) throw new CairnError('not_found', `state ${at} is not signed yet (checkpoint size ${head.size})`, { path: 'at' });
  return at;
}

function shardSize(stored: StoredState, shard: number): number {
  const h = stored.state.shards[shard];
  if (h === undefined) throw new CairnError('internal', `state ${stored.epoch} has no shard ${shard}`);
  return h.size;
}

/**
 * Promise.all with at most PROOFS_INFLIGHT_MAX running; results keep the input order. Once
 * `signal` is aborted (the client left, or the answer's deadline passed) or one item failed, no
 * new item starts; it settles only when the items already started have, so the request's slot
 * is not given back while its shard reads still run (a failed read used to leave the rest of a
 * long history running unbounded, under exactly the load that made it fail).
 */
async function boundedMap<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      if (signal?.aborted === true) throw abandoned();
      const i = next;
      next += 1;
      try {
        out[i] = await fn(items[i] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(PROOFS_INFLIGHT_MAX, items.length) }, worker));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  return out;
}
