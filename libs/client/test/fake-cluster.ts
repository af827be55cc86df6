// An in-memory cluster built from the real pieces (@cairn/merkle trees, @cairn/checkpoint signed
// notes, @cairn/wire leaves and global states) that answers exactly as docs/design/proofs.md says.
// Tests mutate its answers to check that every mutation is refused with the right code.
// The state-log entry is built here from the contract's words, not with the library helper the
// verifier uses, so a wrong helper cannot make both sides agree.
import { generateKeyPair, parseSignerKey, signCheckpoint, base64Encode, type Signer } from '@cairn/checkpoint';
import { consistencyProof, inclusionProof, nobleHasher, rootHash } from '@cairn/merkle';
import { canonicalJsonBytes, encodeGlobalState, encodeLeaf, shardOfKey, type JsonObject, type JsonValue, type LeafEntry, type Receipt } from '@cairn/wire';
import type { FetchLike } from '../src/index.js';

const utf8 = new TextEncoder();
const sha256 = (b: Uint8Array): Uint8Array => nobleHasher.sha256(b);
const b64 = base64Encode;

export interface StoredRecord {
  readonly shard: number;
  readonly leafIndex: number;
  readonly entry: LeafEntry;
  readonly value: Uint8Array;
  readonly meta: Uint8Array;
}

export interface ShardModel {
  leaves: Uint8Array[];
  records: StoredRecord[];
}

export interface Epoch {
  readonly bytes: Uint8Array;
  readonly heads: { size: number; root: Uint8Array }[];
  readonly cut: number;
}

export function keyPair(name: string, seedByte: number): { signer: Signer; verifierKey: string } {
  const pair = generateKeyPair(name, new Uint8Array(32).fill(seedByte));
  return { signer: parseSignerKey(pair.signerKey), verifierKey: pair.verifierKey };
}

export function stateEntry(epoch: number, bytes: Uint8Array): LeafEntry {
  return { txId: `epoch-${epoch}`, key: 'cairn/state', version: epoch, valueHash: sha256(bytes), metaHash: sha256(utf8.encode('{}')) };
}

export function entryJson(e: LeafEntry): Record<string, unknown> {
  return { txId: e.txId, key: e.key, version: e.version, valueHash: b64(e.valueHash), metaHash: b64(e.metaHash) };
}

export class FakeCluster {
  readonly origin: string;
  readonly signer: Signer;
  readonly verifierKey: string;
  readonly shards: ShardModel[];
  readonly epochs: Epoch[] = [];
  readonly stateLeaves: Uint8Array[] = [];
  readonly notes: string[] = [];
  /** Which checkpoint size the server currently answers at (defaults to the newest). */
  servingSize: number | undefined;
  /** Whether GET /v1/shards/{shard}/consistency exists (a proof service before it answers 404). */
  shardConsistencyRoute = true;
  #seq = 0;
  #versions = new Map<string, number>();

  constructor(options: { origin?: string; shards?: number; signer?: Signer; verifierKey?: string } = {}) {
    this.origin = options.origin ?? 'test.cairn.example/cluster';
    const pair = options.signer !== undefined && options.verifierKey !== undefined ? { signer: options.signer, verifierKey: options.verifierKey } : keyPair('cairn-test', 7);
    this.signer = pair.signer;
    this.verifierKey = pair.verifierKey;
    this.shards = Array.from({ length: options.shards ?? 3 }, () => ({ leaves: [], records: [] }));
  }

  get size(): number {
    return this.servingSize ?? this.epochs.length;
  }

  shardOf(key: string): number {
    return shardOfKey(key, this.shards.length);
  }

  write(id: string, records: { key: string; value: JsonValue }[], meta: JsonObject = {}): Receipt {
    const metaBytes = canonicalJsonBytes(meta);
    const out: Receipt = { id, status: 'committed', records: [], shards: [] };
    const touched = new Set<number>();
    for (const r of records) {
      const shard = this.shardOf(r.key);
      const version = (this.#versions.get(r.key) ?? 0) + 1;
      this.#versions.set(r.key, version);
      const value = canonicalJsonBytes(r.value);
      const entry: LeafEntry = { txId: id, key: r.key, version, valueHash: sha256(value), metaHash: sha256(metaBytes) };
      const model = this.shards[shard] as ShardModel;
      const leafIndex = model.leaves.length;
      model.leaves.push(nobleHasher.leaf(encodeLeaf(entry)));
      model.records.push({ shard, leafIndex, entry, value, meta: metaBytes });
      out.records.push({ key: r.key, version, shard, leafIndex });
      touched.add(shard);
    }
    this.#seq += 1;
    for (const shard of [...touched].sort((a, b) => a - b)) {
      const model = this.shards[shard] as ShardModel;
      out.shards.push({ shard, size: model.leaves.length, root: base64Encode(rootHash(model.leaves)) });
    }
    return out;
  }

  /** Seals an epoch: global state of every shard's head, appended to the state log, signed. */
  seal(): number {
    this.#seq += 1;
    const epoch = this.epochs.length + 1;
    const heads = this.shards.map((s) => ({ size: s.leaves.length, root: rootHash(s.leaves) }));
    const bytes = encodeGlobalState({ origin: this.origin, epoch, cut: this.#seq, shards: heads });
    this.epochs.push({ bytes, heads, cut: this.#seq });
    this.stateLeaves.push(nobleHasher.leaf(encodeLeaf(stateEntry(epoch, bytes))));
    this.notes.push(signCheckpoint({ origin: this.origin, size: epoch, rootHash: rootHash(this.stateLeaves) }, [this.signer]));
    return epoch;
  }

  note(size = this.size): string {
    return this.notes[size - 1] as string;
  }

  stateJson(epoch: number, atSize = this.size): Record<string, unknown> {
    const e = this.epochs[epoch - 1] as Epoch;
    return {
      index: epoch - 1,
      bytes: b64(e.bytes),
      entry: entryJson(stateEntry(epoch, e.bytes)),
      inclusion: inclusionProof(this.stateLeaves.slice(0, atSize), epoch - 1, atSize).map(b64),
    };
  }

  recordJson(r: StoredRecord, shardSize: number): Record<string, unknown> {
    const leaves = (this.shards[r.shard] as ShardModel).leaves.slice(0, shardSize);
    return {
      shard: r.shard,
      leafIndex: r.leafIndex,
      entry: entryJson(r.entry),
      value: b64(r.value),
      erased: false,
      meta: b64(r.meta),
      inclusion: inclusionProof(leaves, r.leafIndex, shardSize).map(b64),
    };
  }

  #visible(key: string, epoch: number): { shard: number; size: number; records: StoredRecord[] } {
    const shard = this.shardOf(key);
    const size = ((this.epochs[epoch - 1] as Epoch).heads[shard] as { size: number }).size;
    const records = (this.shards[shard] as ShardModel).records.filter((r) => r.entry.key === key && r.leafIndex < size);
    return { shard, size, records };
  }

  keyAnswer(key: string, at?: number): Record<string, unknown> {
    const epoch = at ?? this.size;
    const { size, records } = this.#visible(key, epoch);
    const last = records[records.length - 1];
    if (last === undefined) throw new Error(`no version of ${key} at ${epoch}`);
    return { checkpoint: this.note(), state: this.stateJson(epoch), record: this.recordJson(last, size) };
  }

  historyAnswer(key: string, at?: number): Record<string, unknown> {
    const epoch = at ?? this.size;
    const { size, records } = this.#visible(key, epoch);
    return { checkpoint: this.note(), state: this.stateJson(epoch), records: records.map((r) => this.recordJson(r, size)) };
  }

  txAnswer(id: string): Record<string, unknown> | undefined {
    const epoch = this.epochs[this.size - 1] as Epoch;
    const records = this.shards.flatMap((s, shard) => s.records.filter((r) => r.entry.txId === id && r.leafIndex < (epoch.heads[shard] as { size: number }).size));
    if (records.length === 0) return undefined;
    return {
      checkpoint: this.note(),
      state: this.stateJson(this.size),
      records: records.map((r) => this.recordJson(r, (epoch.heads[r.shard] as { size: number }).size)),
    };
  }

  consistencyAnswer(from: number, to: number): Record<string, unknown> {
    const a = this.epochs[from - 1] as Epoch;
    const b = this.epochs[to - 1] as Epoch;
    return {
      checkpoint: this.note(),
      from: this.stateJson(from, to),
      to: this.stateJson(to, to),
      proof: from === to ? [] : consistencyProof(this.stateLeaves.slice(0, to), from, to).map(b64),
      shards: this.shards.map((s, shard) => {
        const s1 = (a.heads[shard] as { size: number }).size;
        const s2 = (b.heads[shard] as { size: number }).size;
        return { shard, proof: s1 === 0 || s1 >= s2 ? [] : consistencyProof(s.leaves.slice(0, s2), s1, s2).map(b64) };
      }),
    };
  }

  /** `{ proof }`: shard `shard`'s consistency proof from tree size `from` to `to`. */
  shardConsistencyAnswer(shard: number, from: number, to: number): Record<string, unknown> {
    const leaves = (this.shards[shard] as ShardModel).leaves;
    if (!(from >= 1 && from <= to && to <= leaves.length)) throw new HttpFailure(404, 'not_found', `shard ${shard} has no sizes ${from}..${to}`);
    return { shard, from, to, proof: from === to ? [] : consistencyProof(leaves.slice(0, to), from, to).map(b64) };
  }

  /** Answers GET routes of the proof service and POST routes of the ingest; `rewrite` may change any answer. */
  fetcher(rewrite: (path: string, body: unknown) => unknown = (_p, b) => b): FetchLike & { calls: string[] } {
    const calls: string[] = [];
    const f = async (input: string, init?: { method?: string; body?: string }): Promise<ReturnType<typeof reply>> => {
      const url = new URL(input);
      calls.push(`${init?.method ?? 'GET'} ${url.pathname}${url.search}`);
      try {
        const body = this.#route(init?.method ?? 'GET', url, init?.body);
        return reply(200, rewrite(url.pathname + url.search, body));
      } catch (error) {
        if (error instanceof HttpFailure) return reply(error.status, { error: { code: error.code, message: error.message } });
        throw error;
      }
    };
    return Object.assign(f, { calls });
  }

  #route(method: string, url: URL, body: string | undefined): unknown {
    const path = url.pathname;
    if (method === 'POST' && path === '/v1/transactions') {
      const tx = JSON.parse(body ?? '{}') as { id?: string; records: { key: string; value: JsonValue }[]; meta?: JsonObject };
      // Like the ingest, an id the client did not give is assigned.
      const receipt = this.write(tx.id ?? `~fake.${this.#seq + 1}`, tx.records, tx.meta);
      this.seal();
      return receipt;
    }
    if (method === 'POST' && path === '/v1/transactions/batch') {
      const batch = JSON.parse(body ?? '{}') as { transactions: { id: string; records: { key: string; value: JsonValue }[]; meta?: JsonObject }[] };
      const results = batch.transactions.map((tx) => ({ status: 200, receipt: this.write(tx.id, tx.records, tx.meta) }));
      this.seal();
      return { results };
    }
    if (path === '/v1/checkpoint') {
      const note = this.note();
      return { checkpoint: note, origin: this.origin, size: this.size, root: '' };
    }
    if (path === '/v1/consistency') {
      const from = Number(url.searchParams.get('from'));
      const to = Number(url.searchParams.get('to') ?? this.size);
      if (to > this.size) throw new HttpFailure(404, 'not_found', `state ${to} is not signed yet`);
      return this.consistencyAnswer(from, to);
    }
    const shardProof = /^\/v1\/shards\/([0-9]+)\/consistency$/.exec(path);
    if (shardProof !== null && this.shardConsistencyRoute) {
      return this.shardConsistencyAnswer(Number(shardProof[1]), Number(url.searchParams.get('from')), Number(url.searchParams.get('to')));
    }
    const tx = /^\/v1\/transactions\/([^/]+)$/.exec(path);
    if (tx !== null) {
      const answer = this.txAnswer(decodeURIComponent(tx[1] as string));
      if (answer === undefined) throw new HttpFailure(404, 'not_found', 'no such transaction');
      return answer;
    }
    const history = /^\/v1\/keys\/([^/]+)\/history$/.exec(path);
    if (history !== null) {
      const at = url.searchParams.get('at');
      return this.historyAnswer(decodeURIComponent(history[1] as string), at === null ? undefined : Number(at));
    }
    const key = /^\/v1\/keys\/([^/]+)$/.exec(path);
    if (key !== null) {
      const at = url.searchParams.get('at');
      return this.keyAnswer(decodeURIComponent(key[1] as string), at === null ? undefined : Number(at));
    }
    throw new HttpFailure(404, 'not_found', `no route ${path}`);
  }
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function reply(status: number, body: unknown): { status: number; ok: boolean; headers: { get(name: string): string | null }; text(): Promise<string> } {
  const text = JSON.stringify(body);
  return { status, ok: status >= 200 && status < 300, headers: { get: () => null }, text: () => Promise.resolve(text) };
}

/** A copy of `json` (plain JSON) that tests may change freely. */
export function clone<T>(json: T): T {
  return JSON.parse(JSON.stringify(json)) as T;
}

/** The base64 text of `text` with bit `bit` of byte `byteIndex` flipped (still canonical base64). */
export function flipBase64(text: string, byteIndex: number, bit = 0): string {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  bytes[byteIndex % bytes.length] = (bytes[byteIndex % bytes.length] as number) ^ (1 << bit);
  return b64(bytes);
}
