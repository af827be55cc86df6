// The Cairn SDK: every read is verified from the pinned key down to the record before it is
// returned, and every write is verified once a signed state contains it. Runs in Node and in
// browsers (global fetch, no Node built-ins; the file store lives in the ./node subpath).
import type { Hasher } from '@cairn/merkle';
import type { GlobalState, JsonObject, JsonValue, Receipt, TransactionInput } from '@cairn/wire';
import { createVerifyContext, sameBytes, verifyCheckpointNote, type TrustedCheckpoint, type VerifyContext } from './verify/checkpoint.js';
import { verifyStateProof, type ProvenRecord } from './verify/chain.js';
import { verifyShardConsistency } from './verify/consistency.js';
import { verifyHistoryAnswer, verifyKeyAnswer, verifyTransactionAnswer, type VerifiedAnswer, type VerifiedRecordsAnswer } from './verify/answers.js';
import { VerifyError } from './verify/errors.js';
import { asObject, malformed } from './verify/json.js';
import { RequestError } from './errors.js';
import { checkReceiptHeads, checkReceiptRecords, coversReceipt, type ReceiptHeadCheck } from './receipt.js';
import { HTTP_LIMITS_DEFAULT, Http, joinUrl, type FetchLike } from './http.js';
import { MemoryStateStore, type StateStore } from './store.js';
import { Trust } from './trust.js';
import { VersionFloors } from './floors.js';

export interface ClientLimits {
  /** One HTTP request, connect to last byte. */
  readonly request_ms_max: number;
  readonly response_bytes_max: number;
  /** How long write() waits for a signed state that contains its receipt. */
  readonly receipt_wait_ms_max: number;
  /** Pause between two polls of the proof service while waiting for a receipt's state. */
  readonly receipt_poll_ms: number;
  /** Receipts of one writeBatch verified at once. */
  readonly receipts_inflight_max: number;
  /** Past states (getAt, historyAt) whose shards this client has proven to be prefixes of a trusted state. */
  readonly past_states_remembered_max: number;
  /** Keys whose newest proven version the client remembers, to refuse an older one later (floors.ts). */
  readonly keys_remembered_max: number;
}

export const CLIENT_LIMITS_DEFAULT: ClientLimits = {
  ...HTTP_LIMITS_DEFAULT,
  receipt_wait_ms_max: 15_000,
  receipt_poll_ms: 50,
  receipts_inflight_max: 8,
  past_states_remembered_max: 1_024,
  keys_remembered_max: 10_000,
};

export interface ClientOptions {
  /** Base URL of the proof service (reads, checkpoints, consistency). */
  readonly proofUrl: string;
  /** Base URL of the ingest gateway; needed only for write()/writeBatch(). */
  readonly ingestUrl?: string;
  /**
   * The ingest's API key (`cairn-ingest apikey`), sent as `Authorization: Bearer` with writes
   * only, never to the proof service. Needed when the gateway holds keys (401 without).
   */
  readonly apiKey?: string;
  /** The cluster's verifier key(s), pinned: the client never learns keys from a server. */
  readonly verifierKey: string | readonly string[];
  /** The cluster name (checkpoint origin). */
  readonly origin: string;
  /** Where the last verified checkpoint is kept; a MemoryStateStore when absent. */
  readonly store?: StateStore;
  /** Default: @cairn/merkle's nobleHasher (pure JS, runs anywhere). */
  readonly hasher?: Hasher;
  readonly fetch?: FetchLike;
  readonly limits?: Partial<ClientLimits>;
}

/** A record after verification, with its value and meta decoded from their proven bytes. */
export interface VerifiedRecord extends ProvenRecord {
  /** The JSON value, or null when erased (`erased` tells it apart from a JSON null). */
  readonly json: JsonValue;
  readonly metaJson: JsonObject;
}

export interface ReadResult {
  readonly checkpoint: TrustedCheckpoint;
  /** The global state (epoch = state-log size) the answer is valid at. */
  readonly epoch: number;
  /** The proven global state: every shard's (size, root) at that epoch. */
  readonly state: GlobalState;
  readonly record: VerifiedRecord;
}

export interface RecordsResult {
  readonly checkpoint: TrustedCheckpoint;
  readonly epoch: number;
  readonly state: GlobalState;
  readonly records: readonly VerifiedRecord[];
}

/** A receipt checked against a signed state (docs/design/client.md, "Receipts"). */
export interface ReceiptProof {
  /** The transaction as proven at the first signed state that contains the receipt. */
  readonly proof: RecordsResult;
  /**
   * True only when every shard head of the receipt is proven to be a prefix of the signed state's
   * head of that shard. False when some head is `unproven` (the server offered no shard
   * consistency proof): the transaction itself is still proven, the receipt's roots are not.
   */
  readonly receiptVerified: boolean;
  /** One entry per shard head of the receipt: how it was tied to the signed state. */
  readonly heads: readonly ReceiptHeadCheck[];
}

export interface WriteResult extends ReceiptProof {
  readonly receipt: Receipt;
}

export interface BatchWriteItem {
  readonly status: number;
  readonly receipt?: Receipt;
  readonly error?: { readonly code: string; readonly message: string; readonly path?: string };
  readonly proof?: RecordsResult;
  readonly receiptVerified?: boolean;
  readonly heads?: readonly ReceiptHeadCheck[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class CairnClient {
  readonly #ctx: VerifyContext;
  readonly #http: Http;
  readonly #trust: Trust;
  readonly #proofUrl: string;
  readonly #ingestUrl: string | undefined;
  /** `Bearer <apiKey>` for the ingest's writes, or undefined. */
  readonly #authorization: string | undefined;
  readonly #limits: ClientLimits;
  readonly #floors: VersionFloors;
  /** Epochs checked by #pastStateChecked, oldest first (bounded by past_states_remembered_max). */
  readonly #pastChecked = new Set<number>();

  constructor(options: ClientOptions) {
    this.#ctx = createVerifyContext({ verifierKey: options.verifierKey, origin: options.origin, ...(options.hasher ? { hasher: options.hasher } : {}) });
    this.#limits = { ...CLIENT_LIMITS_DEFAULT, ...options.limits };
    checkLimits(this.#limits);
    this.#floors = new VersionFloors(this.#limits.keys_remembered_max);
    this.#http = new Http(options.fetch, this.#limits);
    this.#proofUrl = options.proofUrl;
    this.#ingestUrl = options.ingestUrl;
    if (options.apiKey !== undefined && !/^[A-Za-z0-9._~+/-]+=*$/.test(options.apiKey)) throw new TypeError('apiKey must be an API key token (cairn-ingest apikey)');
    this.#authorization = options.apiKey === undefined ? undefined : `Bearer ${options.apiKey}`;
    this.#trust = new Trust(this.#ctx, options.store ?? new MemoryStateStore(), this.#http, options.proofUrl, { strict: false });
  }

  /** The last verified checkpoint (from the store, re-verified), or undefined before the first read. */
  trusted(): Promise<TrustedCheckpoint | undefined> {
    return this.#trust.current();
  }

  /** Fetches the newest signed checkpoint, verifies it and its consistency with the trusted one. */
  async checkpoint(): Promise<TrustedCheckpoint> {
    const floor = await this.#trustedSize();
    const json = asObject(await this.#http.get(this.#url('/v1/checkpoint')), 'checkpoint answer');
    const next = verifyCheckpointNote(json['checkpoint'], this.#ctx);
    notFromThePast(next, floor, 'the newest checkpoint');
    await this.#trust.accept(next);
    return next;
  }

  /** The newest version of `key`, proven at the newest signed state. */
  async get(key: string): Promise<ReadResult> {
    return this.#read(key, undefined);
  }

  /** The version of `key` as of state `epoch` (a checkpoint size the client saw), proven into the newest checkpoint. */
  async getAt(key: string, epoch: number): Promise<ReadResult> {
    checkEpoch(epoch);
    return this.#read(key, epoch);
  }

  /** Every version of `key`, 1..n in order, each proven. */
  async history(key: string): Promise<RecordsResult> {
    const floor = await this.#trustedSize();
    const json = await this.#http.get(this.#url(`/v1/keys/${encodeURIComponent(key)}/history`));
    const answer = verifyHistoryAnswer(json, this.#ctx, key);
    notFromThePast(answer.checkpoint, floor, `the history of ${JSON.stringify(key)}`);
    return this.#records(this.#notStale(key, answer));
  }

  /** The versions of `key` as of state `epoch`, each proven into the newest checkpoint. */
  async historyAt(key: string, epoch: number): Promise<RecordsResult> {
    checkEpoch(epoch);
    const json = await this.#http.get(this.#url(`/v1/keys/${encodeURIComponent(key)}/history?at=${epoch}`));
    const answer = verifyHistoryAnswer(json, this.#ctx, key, epoch);
    await this.#pastStateChecked(answer);
    return this.#records(this.#notStale(key, answer));
  }

  /** Every record of transaction `id`, on every shard, proven at one state. */
  async getTransaction(id: string): Promise<RecordsResult> {
    const json = await this.#http.get(this.#url(`/v1/transactions/${encodeURIComponent(id)}`));
    return this.#records(verifyTransactionAnswer(json, this.#ctx, id));
  }

  /** Submits one transaction, then waits (bounded) until a signed state proves its receipt. */
  async write(tx: TransactionInput): Promise<WriteResult> {
    const seen = this.#floors.versions(tx.records.map((r) => r.key));
    const answer = await this.#http.post(this.#ingest('/v1/transactions'), tx, this.#authorization);
    const receipt = parseReceipt(answer);
    return { receipt, ...(await this.#proveWrite(tx, receipt, seen)) };
  }

  /** Submits a batch; every committed item's receipt is proven. Item errors stay per item. */
  async writeBatch(txs: readonly TransactionInput[]): Promise<BatchWriteItem[]> {
    const seen = this.#floors.versions(txs.flatMap((tx) => tx.records.map((r) => r.key)));
    const answer = asObject(await this.#http.post(this.#ingest('/v1/transactions/batch'), { transactions: txs }, this.#authorization), 'batch answer');
    const results = answer['results'];
    if (!Array.isArray(results) || results.length !== txs.length) throw malformed(`batch answer must hold ${txs.length} results`);
    const items: BatchWriteItem[] = results.map((r: unknown) => parseBatchItem(r));
    const todo = items.flatMap((item, i) => (item.receipt === undefined ? [] : [i]));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const i = todo[next] as number;
        next += 1;
        const item = items[i] as BatchWriteItem;
        items[i] = { ...item, ...(await this.#proveWrite(txs[i] as TransactionInput, item.receipt as Receipt, seen)) };
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#limits.receipts_inflight_max, todo.length) }, worker));
    return items;
  }

  /**
   * Waits for a signed state whose shard sizes reach the receipt's, checks that the proven
   * transaction is exactly what was written (same keys, versions, leaf indexes, value and meta
   * hashes), then ties each shard head of the receipt to that signed state: equal roots at equal
   * size, else a shard consistency proof from the receipt's size to the signed size.
   */
  async proveReceipt(tx: TransactionInput, receipt: Receipt): Promise<ReceiptProof> {
    if (tx.id !== undefined && receipt.id !== tx.id) {
      throw new VerifyError('entry_mismatch', `the receipt is for transaction ${JSON.stringify(receipt.id)}, not ${JSON.stringify(tx.id)}`);
    }
    const deadline = Date.now() + this.#limits.receipt_wait_ms_max;
    const attempts = Math.ceil(this.#limits.receipt_wait_ms_max / this.#limits.receipt_poll_ms) + 1;
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      let proven: RecordsResult | undefined;
      try {
        proven = await this.getTransaction(receipt.id);
      } catch (error) {
        if (!(error instanceof RequestError && (error.code === 'not_found' || error.code === 'unavailable'))) throw error;
      }
      if (proven !== undefined && coversReceipt(proven, receipt)) {
        checkReceiptRecords(tx, receipt, proven, this.#ctx);
        const heads = await checkReceiptHeads(receipt, proven.state, this.#ctx, (shard, size1, size2) => this.#shardProof(shard, size1, size2));
        return { proof: proven, receiptVerified: heads.every((h) => h.check !== 'unproven'), heads };
      }
      if (Date.now() >= deadline) break;
      await sleep(this.#limits.receipt_poll_ms);
    }
    throw new RequestError('timeout', `no signed state proved transaction ${receipt.id} within ${this.#limits.receipt_wait_ms_max} ms`, { url: this.#proofUrl });
  }

  /**
   * A receipt proven, and each record's version newer than every version of its key this client
   * had seen proven before it wrote (`seen`, taken before the write was sent): an ingest that
   * answers with the receipt of an earlier write of the same content is caught here.
   */
  async #proveWrite(tx: TransactionInput, receipt: Receipt, seen: ReadonlyMap<string, number>): Promise<ReceiptProof> {
    const proof = await this.proveReceipt(tx, receipt);
    // With an id of the client's own, proveReceipt has tied the receipt to that transaction: a
    // retry (after a 503 or 504) is answered with the original receipt, legitimately no newer.
    if (tx.id !== undefined) return proof;
    for (const record of proof.proof.records) {
      const before = seen.get(record.key);
      if (before !== undefined && record.version <= before) {
        throw new VerifyError('stale_version', `transaction ${receipt.id} wrote ${JSON.stringify(record.key)} as version ${record.version}, but this client had seen version ${before} before writing`);
      }
    }
    return proof;
  }

  /**
   * A state inside the log (epoch e below the answer's checkpoint) is signed only as a leaf of the
   * log: trust moving between checkpoints proves every shard's tree consistent between their last
   * states, not at e. So the first answer from e fetches `/v1/consistency?from=e&to=<checkpoint>`
   * and proves each shard's tree at e a prefix of its tree at the checkpoint (a shard history
   * rewritten below a later state is then caught here, not only by an auditor's sampling).
   */
  async #pastStateChecked(answer: VerifiedAnswer): Promise<void> {
    const e = answer.state.state.epoch;
    const newest = answer.checkpoint.size;
    if (e === newest || this.#pastChecked.has(e)) return;
    const json = asObject(await this.#http.get(this.#url(`/v1/consistency?from=${e}&to=${newest}`)), 'consistency answer');
    const from = verifyStateProof(json['from'], answer.checkpoint, this.#ctx);
    const to = verifyStateProof(json['to'], answer.checkpoint, this.#ctx);
    if (from.index !== e - 1 || to.index !== newest - 1 || !sameBytes(from.bytes, answer.state.bytes)) {
      throw new VerifyError('state_mismatch', `consistency answer for epochs ${e} -> ${newest} holds states ${from.index + 1} -> ${to.index + 1}, or another state ${e}`);
    }
    verifyShardConsistency(from.state, to.state, json['shards'], this.#ctx, `between epochs ${e} and ${newest}`);
    this.#pastChecked.add(e);
    if (this.#pastChecked.size > this.#limits.past_states_remembered_max) this.#pastChecked.delete(this.#pastChecked.values().next().value as number);
  }

  /** The trusted checkpoint's size now (0 before any): an answer about the newest state may not be older. */
  async #trustedSize(): Promise<number> {
    return (await this.#trust.current())?.size ?? 0;
  }

  async #read(key: string, epoch: number | undefined): Promise<ReadResult> {
    const floor = epoch === undefined ? await this.#trustedSize() : 0;
    const query = epoch === undefined ? '' : `?at=${epoch}`;
    const json = await this.#http.get(this.#url(`/v1/keys/${encodeURIComponent(key)}${query}`));
    const answer = verifyKeyAnswer(json, this.#ctx, key, epoch);
    notFromThePast(answer.checkpoint, floor, `the newest version of ${JSON.stringify(key)}`);
    if (epoch !== undefined) await this.#pastStateChecked(answer);
    this.#floors.check(key, answer.record.version, answer.state.state);
    await this.#trust.accept(answer.checkpoint);
    this.#floors.learn([answer.record]);
    return { checkpoint: answer.checkpoint, epoch: answer.state.state.epoch, state: answer.state.state, record: decodeRecord(answer.record) };
  }

  async #records(answer: VerifiedRecordsAnswer): Promise<RecordsResult> {
    await this.#trust.accept(answer.checkpoint);
    this.#floors.learn(answer.records);
    return { checkpoint: answer.checkpoint, epoch: epochOf(answer), state: answer.state.state, records: answer.records.map(decodeRecord) };
  }

  /** A history whose newest version is below one this client saw proven inside its state is stale_version. */
  #notStale(key: string, answer: VerifiedRecordsAnswer): VerifiedRecordsAnswer {
    this.#floors.check(key, answer.records.at(-1)?.version ?? 0, answer.state.state);
    return answer;
  }

  /** A proof service without the shard consistency route answers 404: no proof, not a lie. */
  async #shardProof(shard: number, size1: number, size2: number): Promise<unknown> {
    try {
      return await this.#http.get(this.#url(`/v1/shards/${shard}/consistency?from=${size1}&to=${size2}`));
    } catch (error) {
      if (error instanceof RequestError && error.code === 'not_found') return undefined;
      throw error;
    }
  }

  #url(path: string): string {
    return joinUrl(this.#proofUrl, path);
  }

  #ingest(path: string): string {
    if (this.#ingestUrl === undefined) throw new TypeError('writes need options.ingestUrl');
    return joinUrl(this.#ingestUrl, path);
  }
}

/**
 * An answer about the newest state must be at a checkpoint at least as new as the one trusted when
 * the question was sent: the server had that one then, so an older one is the newest state held
 * back (without this, "latest" could be answered from any older prefix of the trusted log).
 */
function notFromThePast(checkpoint: TrustedCheckpoint, floor: number, what: string): void {
  if (checkpoint.size < floor) {
    throw new VerifyError('rollback', `${what} was answered at checkpoint ${checkpoint.size}, older than the trusted checkpoint ${floor} when it was asked`);
  }
}

function epochOf(answer: VerifiedAnswer): number {
  return answer.state.state.epoch;
}

function checkEpoch(epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 1) throw new RangeError(`epoch must be a state-log size >= 1, got ${epoch}`);
}

function checkLimits(limits: ClientLimits): void {
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new RangeError(`limit ${name} must be a positive integer, got ${String(value)}`);
  }
}

function decodeRecord(record: ProvenRecord): VerifiedRecord {
  return { ...record, json: record.value === null ? null : parseJson(record.value, 'value'), metaJson: parseJson(record.meta, 'meta') as JsonObject };
}

function parseJson(bytes: Uint8Array, what: string): JsonValue {
  try {
    return JSON.parse(utf8.decode(bytes)) as JsonValue;
  } catch (cause) {
    // The bytes are proven, so the ledger committed them: still, they are not the JSON we expect.
    throw new VerifyError('value_mismatch', `proven ${what} bytes are not JSON`, { cause });
  }
}

function parseReceipt(value: unknown): Receipt {
  const o = asObject(value, 'receipt');
  if (typeof o['id'] !== 'string' || o['status'] !== 'committed' || !Array.isArray(o['records']) || !Array.isArray(o['shards'])) {
    throw malformed('receipt must be { id, status: "committed", records, shards }');
  }
  return o as unknown as Receipt;
}

function parseBatchItem(value: unknown): BatchWriteItem {
  const o = asObject(value, 'batch result');
  if (typeof o['status'] !== 'number') throw malformed('batch result needs a status');
  if (o['receipt'] !== undefined) return { status: o['status'], receipt: parseReceipt(o['receipt']) };
  const error = asObject(o['error'], 'batch result error');
  if (typeof error['code'] !== 'string' || typeof error['message'] !== 'string') throw malformed('batch error needs code and message');
  return { status: o['status'], error: { code: error['code'], message: error['message'], ...(typeof error['path'] === 'string' ? { path: error['path'] } : {}) } };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
