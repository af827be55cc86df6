// The shard's read API, answered over NATS request/reply on ledger.read.<shard>. Requests and
// answers are JSON; hashes and bytes are base64. Every answer names the tree size it is valid at.
// Errors are ShardErrors whose stable code travels in the reply's Cairn-Error header.
// The table of operations is in docs/design/shard.md, "Read API".
//
// Commits land while an answer is being built (the store's head only grows), so each answer takes
// its size where the store guarantees the result lies below it: a bound passed to the lookup, or the
// head read after a lookup that only ever returns what the head holds.
import type { StoredLeaf, Store } from '@cairn/storage';
import type { Applier } from './apply.js';
import { asShardError, ShardError, type ShardErrorCode } from './errors.js';

export interface LeafJson {
  readonly index: number;
  readonly txId: string;
  readonly key: string;
  readonly version: number;
  readonly valueHash: string;
  readonly metaHash: string;
  /** base64 of the stored value bytes (canonical JSON), or null once erased. */
  readonly value: string | null;
  readonly erased: boolean;
}

export interface HeadJson {
  readonly size: number;
  readonly root: string;
}

export const readOps = ['head', 'headAt', 'latest', 'at', 'proven', 'history', 'transaction', 'meta', 'leaf', 'leaves', 'inclusion', 'consistency'] as const;
export type ReadOp = (typeof readOps)[number];

/**
 * Told of every answered request: its op ('invalid' when the request names none of readOps, so
 * the set of values stays bounded), 'ok' or the error code, and the seconds it took.
 */
export type ReadObserver = (op: ReadOp | 'invalid', outcome: ShardErrorCode | 'ok', seconds: number) => void;

export interface ReadLimits {
  readonly head_wait_ms_max: number;
  readonly head_probe_max: number;
  readonly history_versions_max: number;
  readonly leaves_max: number;
}

/** What the read API asks of the store: only reads. */
export type ReadStore = Pick<
  Store,
  'head' | 'headAt' | 'rootAt' | 'at' | 'history' | 'transaction' | 'transactionMeta' | 'leaf' | 'leaves' | 'inclusionProof' | 'consistencyProof'
>;

/** The answer of `proven`: what `at`, `inclusion` (without the root) and the meta of `transaction` say, in one. */
export interface ProvenJson {
  readonly size: number;
  readonly leaf: LeafJson;
  /** Inclusion proof of the leaf in the tree of `size` leaves, base64 hashes. */
  readonly proof: string[];
  /** base64 of the transaction's meta bytes; '' when the shard does not hold the transaction (a damaged leaf). */
  readonly meta: string;
}

/** What headAt asks of the apply loop: how far it got, the per-message sizes, and a bounded wait. */
export type AppliedView = Pick<Applier, 'applied' | 'boundaries' | 'waitApplied'>;

/** What headAt needs to know about the stream beyond this shard's own progress. */
export interface StreamView {
  /** The first stream message on this shard's subject at or after `seq`, if any. */
  nextOnSubject(seq: number): Promise<number | undefined>;
  /** The stream's last sequence (any subject). */
  lastSeq(): Promise<number>;
}

type Req = Record<string, unknown>;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

function bad(message: string): ShardError {
  return new ShardError('SHARD_BAD_REQUEST', message);
}

function int(req: Req, name: string, min: number): number {
  const v = req[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw bad(`${name} must be an integer >= ${min}`);
  return v;
}

function optionalInt(req: Req, name: string, min: number): number | undefined {
  return req[name] === undefined ? undefined : int(req, name, min);
}

function str(req: Req, name: string): string {
  const v = req[name];
  if (typeof v !== 'string' || v.length === 0) throw bad(`${name} must be a non-empty string`);
  return v;
}

export function leafJson(leaf: StoredLeaf): LeafJson {
  return {
    index: leaf.index,
    txId: leaf.entry.txId,
    key: leaf.entry.key,
    version: leaf.entry.version,
    valueHash: b64(leaf.entry.valueHash),
    metaHash: b64(leaf.entry.metaHash),
    value: leaf.value === undefined ? null : b64(leaf.value),
    erased: leaf.erased,
  };
}

/** Output check: an answer never names a tree that lacks one of its own leaves. */
function assertBelow(leaves: readonly StoredLeaf[], size: number): void {
  for (const leaf of leaves) {
    if (leaf.index >= size) throw new ShardError('SHARD_INTERNAL', `leaf ${leaf.index} answered at tree size ${size}`);
  }
}

export class ReadApi {
  constructor(
    private readonly store: ReadStore,
    private readonly applier: AppliedView,
    private readonly limits: ReadLimits,
    private readonly stream: StreamView,
    private readonly observe: ReadObserver = () => undefined,
  ) {}

  /** Decodes, answers, encodes. Throws ShardErrors (the transport turns them into error replies). */
  async handle(data: Uint8Array): Promise<Uint8Array> {
    const started = performance.now();
    let op: ReadOp | 'invalid' = 'invalid';
    try {
      const answer = await this.#decodeAndAnswer(data, (named) => {
        op = named;
      });
      this.observe(op, 'ok', (performance.now() - started) / 1_000);
      return answer;
    } catch (error) {
      const shardError = asShardError(error);
      this.observe(op, shardError.code, (performance.now() - started) / 1_000);
      throw shardError;
    }
  }

  async #decodeAndAnswer(data: Uint8Array, named: (op: ReadOp) => void): Promise<Uint8Array> {
    let req: unknown;
    try {
      req = JSON.parse(utf8.decode(data));
    } catch (cause) {
      throw new ShardError('SHARD_BAD_REQUEST', 'request is not UTF-8 JSON', { cause });
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) throw bad('request must be a JSON object');
    const op = (req as Req)['op'];
    if ((readOps as readonly unknown[]).includes(op)) named(op as ReadOp);
    try {
      const answer = await this.answer(req as Req);
      return utf8Encoder.encode(JSON.stringify(answer));
    } catch (error) {
      throw asShardError(error);
    }
  }

  answer(req: Req): Promise<unknown> {
    const op = req['op'];
    switch (op as ReadOp) {
      case 'head':
        return this.head();
      case 'headAt':
        return this.headAt(int(req, 'seq', 0));
      case 'latest':
        return this.at(str(req, 'key'), undefined);
      case 'at':
        return this.at(str(req, 'key'), int(req, 'size', 0));
      case 'proven':
        return this.proven(str(req, 'key'), int(req, 'size', 1));
      case 'history':
        return this.history(str(req, 'key'), optionalInt(req, 'fromVersion', 1), optionalInt(req, 'limit', 1));
      case 'transaction':
        return this.transaction(str(req, 'id'));
      case 'meta':
        return this.meta(str(req, 'id'));
      case 'leaf':
        return this.leaf(int(req, 'index', 0));
      case 'leaves':
        return this.leaves(int(req, 'start', 0), int(req, 'count', 1));
      case 'inclusion':
        return this.inclusion(int(req, 'index', 0), int(req, 'size', 1));
      case 'consistency':
        return this.consistency(int(req, 'size1', 1), int(req, 'size2', 1));
      default:
        throw bad(`unknown op ${JSON.stringify(op)}; one of ${readOps.join(', ')}`);
    }
  }

  /**
   * One snapshot of the store: size, root and the stream sequence they include. The applier's
   * sequence catches up a moment after a pipelined write lands, so pairing it with the store's
   * size could name a size with the sequence before it.
   */
  async head(): Promise<HeadJson & { seq: number }> {
    const head = this.store.head();
    return { size: head.size, root: b64(head.root), seq: head.seq };
  }

  /**
   * The tree head after every message of this shard's subject with stream sequence <= seq. Waits
   * (bounded) until those are applied. `atSeq` is the sequence of the last such message (0: none).
   */
  async headAt(seq: number): Promise<HeadJson & { seq: number; atSeq: number }> {
    const deadline = Date.now() + this.limits.head_wait_ms_max;
    if (this.applier.applied < seq) {
      // A cut beyond the stream's end is not a cut yet: a later message could still fall below it.
      // The end is read BEFORE looking for messages: then every message at or below seq is already
      // in the stream when nextOnSubject looks, so "none on this subject up to seq" is final. Read
      // after, a message published in between could sit below seq, unseen and unapplied.
      const last = await this.stream.lastSeq();
      if (seq > last) throw new ShardError('SHARD_OUT_OF_RANGE', `sequence ${seq} is beyond the stream's last sequence ${last}`);
    }
    // Each round either returns or waits for a message that exists; the deadline bounds the rounds.
    for (;;) {
      const applied = this.applier.applied;
      if (applied >= seq) break;
      const next = await this.stream.nextOnSubject(applied + 1);
      if (next === undefined || next > seq) break;
      await this.applier.waitApplied(next, Math.max(1, deadline - Date.now()));
    }
    const boundary = this.applier.boundaries.lastAtOrBefore(seq);
    if (boundary !== undefined) return this.sized(seq, boundary.seq, boundary.size);
    return this.probeStored(seq);
  }

  async #rootJson(size: number): Promise<HeadJson> {
    return { size, root: b64(await this.store.rootAt(size)) };
  }

  private async sized(seq: number, atSeq: number, size: number): Promise<HeadJson & { seq: number; atSeq: number }> {
    return { ...(await this.#rootJson(size)), seq, atSeq };
  }

  // After a restart the ring does not reach back: the store holds the head at the last sequence
  // of every append; find the nearest one below seq and check that no message lies between.
  private async probeStored(seq: number): Promise<HeadJson & { seq: number; atSeq: number }> {
    const low = Math.max(1, seq - this.limits.head_probe_max + 1);
    for (let s = seq; s >= low; s -= 1) {
      const head = await this.store.headAt(s);
      if (head === undefined) continue;
      const next = await this.stream.nextOnSubject(s + 1);
      if (next !== undefined && next <= seq) break;
      return { size: head.size, root: b64(head.root), seq, atSeq: s };
    }
    if (low === 1) {
      const first = await this.stream.nextOnSubject(1);
      if (first === undefined || first > seq) return this.sized(seq, 0, 0);
    }
    throw new ShardError('SHARD_HEAD_UNKNOWN', `no stored head within ${this.limits.head_probe_max} sequences at or below ${seq}`);
  }

  private checkSize(size: number): void {
    const head = this.store.head();
    if (size > head.size) throw new ShardError('SHARD_OUT_OF_RANGE', `size ${size} is beyond the tree size ${head.size}`);
  }

  async at(key: string, size: number | undefined): Promise<{ size: number; leaf: LeafJson }> {
    const treeSize = size ?? this.store.head().size;
    this.checkSize(treeSize);
    const leaf = await this.store.at(key, treeSize);
    if (leaf === undefined) throw new ShardError('SHARD_NOT_FOUND', `no version of ${JSON.stringify(key)} in the tree of size ${treeSize}`);
    return { size: treeSize, leaf: leafJson(leaf) };
  }

  /**
   * A proven read's shard part in one round trip: the version of `key` at `size`, its inclusion
   * proof at `size` and its transaction's meta. The proof service asked for these as three
   * requests (at, inclusion, transaction); each cost a broker round trip, and `transaction`
   * read every leaf of the transaction only to send the meta. Every part is taken at `size`,
   * which is at or below the head, so none moves while the answer is built (erasure aside, which
   * changes a value the same way for every op).
   */
  async proven(key: string, size: number): Promise<ProvenJson> {
    this.checkSize(size);
    const leaf = await this.store.at(key, size);
    if (leaf === undefined) throw new ShardError('SHARD_NOT_FOUND', `no version of ${JSON.stringify(key)} in the tree of size ${size}`);
    assertBelow([leaf], size);
    const [proof, meta] = await Promise.all([this.store.inclusionProof(leaf.index, size), this.store.transactionMeta(leaf.entry.txId)]);
    return { size, leaf: leafJson(leaf), proof: proof.map(b64), meta: meta === undefined ? '' : b64(meta) };
  }

  /**
   * The size is taken BEFORE the lookup, and versions at or past it are dropped. That drops only a
   * tail: a key's leaf indexes grow with its versions, and every version below the size was on
   * disk before the lookup began. So the page holds every version from fromVersion below the size
   * up to the limit, and is short only when the key has no more versions below the size. (Taking
   * the size after the lookup instead would name a tree holding versions the page never saw.)
   */
  async history(key: string, fromVersion: number | undefined, limit: number | undefined): Promise<{ size: number; leaves: LeafJson[] }> {
    const max = this.limits.history_versions_max;
    if (limit !== undefined && limit > max) throw bad(`limit must be at most ${max}`);
    const size = this.store.head().size;
    const opts: { fromVersion?: number; limit?: number } = { limit: limit ?? max };
    if (fromVersion !== undefined) opts.fromVersion = fromVersion;
    const leaves = await this.store.history(key, opts);
    return { size, leaves: leaves.filter((l) => l.index < size).map(leafJson) };
  }

  /**
   * The size is taken AFTER the lookup: the store answers a transaction only once the head holds
   * all of it, and the head only grows, so every leaf is below the size named. (Taken before, a
   * commit in between would return leaves past the size the answer is proven against.)
   */
  async transaction(id: string): Promise<{ size: number; id: string; contentHash: string; meta: string; leaves: LeafJson[] }> {
    const tx = await this.store.transaction(id);
    const size = this.store.head().size;
    if (tx === undefined) throw new ShardError('SHARD_NOT_FOUND', `no transaction ${JSON.stringify(id)} on this shard`);
    assertBelow(tx.leaves, size);
    return { size, id: tx.id, contentHash: b64(tx.contentHash), meta: b64(tx.meta), leaves: tx.leaves.map(leafJson) };
  }

  /**
   * A transaction's meta alone (a history answer needs it per transaction): `transaction` would
   * read and send every leaf and value of it too, up to tx_records_max of them.
   */
  async meta(id: string): Promise<{ id: string; meta: string }> {
    const meta = await this.store.transactionMeta(id);
    if (meta === undefined) throw new ShardError('SHARD_NOT_FOUND', `no transaction ${JSON.stringify(id)} on this shard`);
    return { id, meta: b64(meta) };
  }

  /** Size after the lookup, for the reason given at transaction(). */
  async leaf(index: number): Promise<{ size: number; leaf: LeafJson }> {
    const leaf = await this.store.leaf(index);
    const size = this.store.head().size;
    assertBelow([leaf], size);
    return { size, leaf: leafJson(leaf) };
  }

  async leaves(start: number, count: number): Promise<{ size: number; leaves: LeafJson[] }> {
    if (count > this.limits.leaves_max) throw bad(`count must be at most ${this.limits.leaves_max}`);
    const size = this.store.head().size;
    if (start + count > size) throw new ShardError('SHARD_OUT_OF_RANGE', `leaves [${start}, ${start + count}) beyond the tree size ${size}`);
    // One read per chunk, not per leaf: reads are synchronous under the binding, and a leaf at a
    // time decoded its whole chunk again for every leaf (20,000 leaves held the loop for a second).
    const leaves = await this.store.leaves(start, count);
    return { size, leaves: leaves.map(leafJson) };
  }

  async inclusion(index: number, size: number): Promise<{ index: number; size: number; root: string; proof: string[] }> {
    this.checkSize(size);
    if (index >= size) throw new ShardError('SHARD_OUT_OF_RANGE', `leaf index ${index} is not below size ${size}`);
    const proof = await this.store.inclusionProof(index, size);
    return { index, size, root: b64(await this.store.rootAt(size)), proof: proof.map(b64) };
  }

  async consistency(size1: number, size2: number): Promise<{ size1: number; size2: number; root1: string; root2: string; proof: string[] }> {
    this.checkSize(size2);
    if (size1 > size2) throw new ShardError('SHARD_OUT_OF_RANGE', `size1 ${size1} is above size2 ${size2}`);
    const proof = await this.store.consistencyProof(size1, size2);
    return { size1, size2, root1: b64(await this.store.rootAt(size1)), root2: b64(await this.store.rootAt(size2)), proof: proof.map(b64) };
  }
}
