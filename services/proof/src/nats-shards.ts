// The shards over NATS: their JSON read API on `<prefix>.read.<shard>` (docs/design/shard.md,
// "Read API") and the epoch markers on their stream subjects. This is the only file that knows the
// shard's read protocol; it turns its answers into ShardReads' types and its stable error codes
// into the @cairn/wire table.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { isTransportError, readSubject, shardSubject, TransportErrorCode, type Transport } from '@cairn/transport';
import { CairnError, encodeEpochMarker } from '@cairn/wire';
import type { ShardRequestReport } from './metrics.js';
import type { MarkerPublisher } from './sealer.js';
import type { ShardLeaf, ShardProvenLeaf, ShardReads, ShardTx, TreeHead } from './shard-reads.js';

interface LeafJson {
  index: number;
  txId: string;
  key: string;
  version: number;
  valueHash: string;
  metaHash: string;
  value: string | null;
  erased: boolean;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
/**
 * Versions asked per history request until a shard refuses that many: the shard's default
 * history_versions_max. A shard configured lower answers SHARD_BAD_REQUEST; the page is then
 * halved for that shard (remembered) until it is accepted. docs/design/proof.md, "Configuration".
 */
export const HISTORY_PAGE_MAX_DEFAULT = 1_000;
/** Refusals one history request may meet before it fails: enough to halve HISTORY_PAGE_MAX_DEFAULT to 1. */
const HISTORY_PAGE_HALVINGS_MAX = 10;

function fromB64(text: unknown, what: string): Uint8Array {
  if (typeof text !== 'string') throw new CairnError('wire_malformed', `shard answer: ${what} is not base64`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** A shard's stable error code (Cairn-Error header) -> our table. Unknown codes are internal. */
function mapError(error: unknown, shard: number): CairnError {
  if (error instanceof CairnError) return error;
  if (isTransportError(error, TransportErrorCode.BACKPRESSURE)) return new CairnError('backpressure', `shard ${shard} is busy`, { cause: error, retryAfterSeconds: 1 });
  if (isTransportError(error, TransportErrorCode.TIMEOUT)) return new CairnError('timeout', `shard ${shard} did not answer in time`, { cause: error });
  if (isTransportError(error, TransportErrorCode.NO_RESPONDERS)) return new CairnError('unavailable', `shard ${shard} is not running`, { cause: error, retryAfterSeconds: 1 });
  const remote = isTransportError(error, TransportErrorCode.REMOTE_ERROR) ? error.details.remote_code : undefined;
  switch (remote) {
    case 'SHARD_NOT_FOUND':
      return new CairnError('not_found', `shard ${shard}: not found`, { cause: error });
    case 'SHARD_BUSY':
      return new CairnError('backpressure', `shard ${shard} is busy`, { cause: error, retryAfterSeconds: 1 });
    case 'SHARD_HEAD_TIMEOUT':
      return new CairnError('timeout', `shard ${shard} did not reach the cut in time`, { cause: error });
    case 'SHARD_UNAVAILABLE':
      return new CairnError('unavailable', `shard ${shard} is unavailable`, { cause: error, retryAfterSeconds: 1 });
    // Sizes asked for come from sealed states, which the shard had reached: a shard that has not
    // now was restored from an older copy and is replaying the stream. That passes; it is no bug.
    case 'SHARD_OUT_OF_RANGE':
      return new CairnError('unavailable', `shard ${shard} has not reached the size asked for (replaying?)`, { cause: error, retryAfterSeconds: 1 });
    default:
      return new CairnError('internal', `shard ${shard} failed (${remote ?? 'transport'})`, { cause: error });
  }
}

/** The shard's stable error code inside a mapped error, if the shard answered one. */
function remoteCode(error: unknown): string | undefined {
  const cause = error instanceof CairnError ? error.cause : error;
  return isTransportError(cause, TransportErrorCode.REMOTE_ERROR) ? cause.details.remote_code : undefined;
}

export class NatsShards implements ShardReads, MarkerPublisher {
  readonly #transport: Transport;
  readonly #timeoutMs: number;
  /** Per shard, the history page it last accepted when smaller than HISTORY_PAGE_MAX_DEFAULT; at most one entry per shard. */
  readonly #historyPages = new Map<number, number>();
  /** Shards that refused the `proven` op (older shards); at most one entry per shard. */
  readonly #provenRefused = new Set<number>();
  /** Shards that refused the `meta` op (older shards); at most one entry per shard. */
  readonly #metaRefused = new Set<number>();
  #jsm: JetStreamManager | undefined;

  readonly #report: ShardRequestReport;

  constructor(transport: Transport, readTimeoutMs: number, report: ShardRequestReport = () => undefined) {
    this.#transport = transport;
    this.#timeoutMs = readTimeoutMs;
    this.#report = report;
  }

  async #call<T>(shard: number, request: { readonly op: string } & Record<string, unknown>, timeoutMs = this.#timeoutMs): Promise<T> {
    const started = performance.now();
    let error: unknown;
    try {
      return await this.#ask<T>(shard, request, timeoutMs);
    } catch (e) {
      error = e;
      throw e;
    } finally {
      this.#report(request.op, (performance.now() - started) / 1000, error);
    }
  }

  async #ask<T>(shard: number, request: Record<string, unknown>, timeoutMs: number): Promise<T> {
    let reply: Uint8Array;
    try {
      reply = await this.#transport.request(readSubject(this.#transport.layout, shard), utf8.encode(JSON.stringify(request)), timeoutMs);
    } catch (error) {
      throw mapError(error, shard);
    }
    try {
      return JSON.parse(utf8Decoder.decode(reply)) as T;
    } catch (cause) {
      throw new CairnError('wire_malformed', `shard ${shard} answered something that is not JSON`, { cause });
    }
  }

  async headAt(shard: number, seq: number, timeoutMs: number): Promise<TreeHead> {
    const a = await this.#call<{ size: number; root: string }>(shard, { op: 'headAt', seq }, timeoutMs);
    return { size: a.size, root: fromB64(a.root, 'root') };
  }

  async recordAt(shard: number, key: string, size: number): Promise<ShardLeaf | undefined> {
    let a: { size: number; leaf: LeafJson };
    try {
      a = await this.#call(shard, { op: 'at', key, size });
    } catch (error) {
      if (error instanceof CairnError && error.code === 'not_found') return undefined;
      throw error;
    }
    return leafOf(a.leaf);
  }

  /**
   * One `proven` request. A shard from before that op refuses it as a bad request (a well-formed
   * `proven` is refused for nothing else): then the three older requests answer the same bytes,
   * and that shard is not asked `proven` again by this process.
   */
  async provenAt(shard: number, key: string, size: number): Promise<ShardProvenLeaf | undefined> {
    if (!this.#provenRefused.has(shard)) {
      try {
        const a = await this.#call<{ size: number; leaf: LeafJson; proof: string[]; meta: string }>(shard, { op: 'proven', key, size });
        return { leaf: leafOf(a.leaf), inclusion: a.proof.map((p) => fromB64(p, 'proof')), meta: fromB64(a.meta, 'meta') };
      } catch (error) {
        if (error instanceof CairnError && error.code === 'not_found') return undefined;
        if (remoteCode(error) !== 'SHARD_BAD_REQUEST') throw error;
        this.#provenRefused.add(shard);
      }
    }
    const leaf = await this.recordAt(shard, key, size);
    if (leaf === undefined) return undefined;
    const [inclusion, meta] = await Promise.all([this.inclusionProof(shard, leaf.leafIndex, size), this.meta(shard, leaf.entry.txId)]);
    return { leaf, inclusion, meta };
  }

  async history(shard: number, key: string, size: number, limit: number): Promise<ShardLeaf[]> {
    const leaves: LeafJson[] = [];
    // Pages oldest first. Every page but the last adds at least one version, so `limit` rounds suffice.
    for (let round = 0; round < limit && leaves.length < limit; round += 1) {
      let page: { asked: number; leaves: LeafJson[] };
      try {
        page = await this.#historyPage(shard, key, leaves.length + 1, limit - leaves.length);
      } catch (error) {
        if (error instanceof CairnError && error.code === 'not_found') break;
        throw error;
      }
      // The shard answers at its own (newer) head; the state names an older size.
      const below = page.leaves.filter((l) => l.index < size);
      leaves.push(...below);
      if (below.length < page.asked) break;
    }
    return leaves.map(leafOf);
  }

  /**
   * One page of at most `want` versions from `fromVersion`, as large as the shard allows. A shard
   * refuses a limit above its history_versions_max with SHARD_BAD_REQUEST (the only bad request a
   * well-formed history request can meet): the page is halved and remembered for that shard, so
   * the proof service needs no setting that must match every shard's.
   */
  async #historyPage(shard: number, key: string, fromVersion: number, want: number): Promise<{ asked: number; leaves: LeafJson[] }> {
    for (let refusals = 0; ; refusals += 1) {
      const asked = Math.min(want, this.#historyPages.get(shard) ?? HISTORY_PAGE_MAX_DEFAULT);
      let a: { leaves: LeafJson[] };
      try {
        a = await this.#call(shard, { op: 'history', key, fromVersion, limit: asked });
      } catch (error) {
        if (remoteCode(error) !== 'SHARD_BAD_REQUEST' || asked === 1 || refusals >= HISTORY_PAGE_HALVINGS_MAX) throw error;
        this.#historyPages.set(shard, Math.floor(asked / 2));
        continue;
      }
      if (a.leaves.length > asked) throw new CairnError('wire_malformed', `shard ${shard} answered ${a.leaves.length} versions for a page of ${asked}`);
      return { asked, leaves: a.leaves };
    }
  }

  async transaction(shard: number, id: string, size: number): Promise<ShardTx | undefined> {
    let a: { id: string; meta: string; leaves: LeafJson[] };
    try {
      a = await this.#call(shard, { op: 'transaction', id });
    } catch (error) {
      if (error instanceof CairnError && error.code === 'not_found') return undefined;
      throw error;
    }
    // A part is committed whole, so it is in the state's tree entirely or not at all.
    if (a.leaves.some((l) => l.index >= size)) return undefined;
    return { id: a.id, meta: fromB64(a.meta, 'meta'), leaves: a.leaves.map(leafOf) };
  }

  async inclusionProof(shard: number, index: number, size: number): Promise<Uint8Array[]> {
    const a = await this.#call<{ proof: string[] }>(shard, { op: 'inclusion', index, size });
    return a.proof.map((p) => fromB64(p, 'proof'));
  }

  async consistencyProof(shard: number, size1: number, size2: number): Promise<Uint8Array[]> {
    const a = await this.#call<{ proof: string[] }>(shard, { op: 'consistency', size1, size2 });
    return a.proof.map((p) => fromB64(p, 'proof'));
  }

  /**
   * A transaction's meta, by the `meta` op (the meta alone). A shard from before that op refuses
   * it as a bad request: it is then asked for the whole `transaction`, as before, from now on.
   */
  async meta(shard: number, txId: string): Promise<Uint8Array> {
    if (!this.#metaRefused.has(shard)) {
      try {
        return await this.#metaBy(shard, 'meta', txId);
      } catch (error) {
        if (remoteCode(error) !== 'SHARD_BAD_REQUEST') throw error;
        this.#metaRefused.add(shard);
      }
    }
    return this.#metaBy(shard, 'transaction', txId);
  }

  async #metaBy(shard: number, op: 'meta' | 'transaction', txId: string): Promise<Uint8Array> {
    try {
      const answer = await this.#call<{ meta: string }>(shard, { op, id: txId });
      return fromB64(answer.meta, 'meta');
    } catch (error) {
      if (error instanceof CairnError && error.code === 'not_found') return new Uint8Array(0);
      throw error;
    }
  }

  async publishMarkers(epoch: number): Promise<number> {
    const layout = this.#transport.layout;
    const msgs = [];
    for (let shard = 0; shard < layout.shard_count; shard += 1) {
      msgs.push({ subject: shardSubject(layout, shard), data: encodeEpochMarker({ shard, shardCount: layout.shard_count, epoch }) });
    }
    const ack = await this.#transport.publishAtomic(msgs);
    if (ack.count !== layout.shard_count || ack.lastSeq - ack.firstSeq + 1 !== ack.count) throw new Error('marker batch ack does not cover one marker per shard');
    return ack.firstSeq;
  }

  async lastSeq(): Promise<number> {
    this.#jsm ??= await jetstreamManager(this.#transport.nc);
    const info = await this.#jsm.streams.info(this.#transport.layout.stream);
    return info.state.last_seq;
  }
}

function leafOf(l: LeafJson): ShardLeaf {
  return {
    leafIndex: l.index,
    entry: { txId: l.txId, key: l.key, version: l.version, valueHash: fromB64(l.valueHash, 'valueHash'), metaHash: fromB64(l.metaHash, 'metaHash') },
    value: l.value === null ? undefined : fromB64(l.value, 'value'),
    erased: l.erased,
  };
}
