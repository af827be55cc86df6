// Epoch sealing. One epoch: publish one marker per shard subject in ONE atomic batch, take the
// batch's first stream sequence X as the cut, ask every shard for its head at X, and append the
// resulting global state to the state log, then sign the new state-log head.
//
// Why this is a consistent cut: an atomic batch takes contiguous stream sequences and never
// interleaves with another, and every ingest flush (all parts of a cross-shard transaction) is one
// atomic batch too. So "every message with seq <= X" splits the stream between two batches, the
// same split on every subject. The marker on every subject makes every shard reach X even when it
// received nothing else.
//
// An epoch is all or nothing: if any shard does not answer within head_timeout_ms, nothing is
// written and the next tick tries a new cut. A shard whose new head does not extend its last sealed
// one (smaller, another root at the same size, or no valid consistency proof) is refused: nothing
// is written or signed, and every later attempt is refused the same way until the shard is
// repaired. Nothing here reads a clock into a hash: the epoch number is the state-log size plus one
// and the cut is the broker's sequence.
import { emptyRoot, MerkleError, nobleHasher, verifyConsistency } from '@cairn/merkle';
import { signCheckpoint, type Signer } from '@cairn/checkpoint';
import { bytesEqual } from './bytes.js';
import type { StateLog, StateLogHead } from './state-log.js';
import type { ShardReads, TreeHead } from './shard-reads.js';
import type { GlobalState } from '@cairn/wire';

/** Longest wait between epoch attempts while they keep failing. */
export const FAILURE_BACKOFF_MS_MAX = 2_000;

/**
 * Stable codes of a refused epoch: the shards answered, but sealing their heads would sign a fork.
 * Part of the log and of the API: a code is never renamed or reused.
 */
export const SealErrorCode = {
  /** A shard's tree is smaller than at the last sealed state (restored from an old copy). */
  Rollback: 'SEAL_ROLLBACK',
  /** A shard's tree has another root at the size last sealed. */
  Fork: 'SEAL_FORK',
  /** A shard grew, but its consistency proof from the last sealed head does not verify. */
  Inconsistent: 'SEAL_INCONSISTENT',
} as const;

export type SealErrorCode = (typeof SealErrorCode)[keyof typeof SealErrorCode];

/** An epoch refused because one shard's history does not extend what was already signed. */
export class SealError extends Error {
  override readonly name = 'SealError';
  readonly code: SealErrorCode;
  readonly shard: number;

  constructor(code: SealErrorCode, shard: number, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.shard = shard;
  }
}

/** The newest signed head of the state log, swapped as one object so a reader sees one version. */
export interface SignedHead {
  readonly size: number;
  readonly root: Uint8Array;
  /** The C2SP signed note. */
  readonly note: string;
}

export interface MarkerPublisher {
  /** Publishes one marker per shard in one atomic batch; returns the batch's first stream sequence. */
  publishMarkers(epoch: number): Promise<number>;
  /** The stream's last sequence, to skip publishing when nothing arrived since the last cut. */
  lastSeq(): Promise<number>;
}

export interface SealerOptions {
  readonly origin: string;
  readonly shards: number;
  readonly signer: Signer;
  readonly log: StateLog;
  readonly reads: ShardReads;
  readonly markers: MarkerPublisher;
  readonly epoch_interval_ms: number;
  readonly head_timeout_ms: number;
  /** Where to report abandoned epochs; rate-limited by the caller's taste. */
  readonly onProblem?: (message: string, cause?: unknown) => void;
  /** Every attempt's outcome and duration (and the error of a failed one), for the metrics. */
  readonly onAttempt?: (outcome: SealOutcome, seconds: number, error: unknown) => void;
}

export type SealOutcome = 'appended' | 'unchanged' | 'idle' | 'failed';

export class Sealer {
  readonly #o: SealerOptions;
  #signed: SignedHead;
  /** Last sequence of the newest marker batch whose epoch completed: nothing after it, nothing new. */
  #sealedThrough: number;
  /** A marker batch whose epoch did not complete yet (a shard did not answer). */
  #pending: { readonly cut: number; readonly lastSeq: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<SealOutcome> | undefined;
  #stopped = false;
  #failures = 0;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(options: SealerOptions) {
    this.#o = options;
    this.#signed = sign(options, options.log.head());
    const last = options.log.last()?.state;
    this.#sealedThrough = last === undefined ? 0 : last.cut + options.shards - 1;
  }

  signed(): SignedHead {
    return this.#signed;
  }

  /** Consecutive epochs that could not complete (0 when the last one did). */
  failures(): number {
    return this.#failures;
  }

  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#schedule(0);
  }

  /** Stops the timer and waits for a running epoch to finish (it is never cut in half). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      const started = performance.now();
      this.#running = this.sealOnce();
      void this.#running.finally(() => {
        this.#running = undefined;
        if (this.#stopped) return;
        // After failures, back off (a shard that is down is asked less often, up to a bound).
        const interval = this.#o.epoch_interval_ms;
        const delay = this.#failures === 0 ? interval - (performance.now() - started) : Math.min(interval * 2 ** Math.min(this.#failures, 16), Math.max(interval, FAILURE_BACKOFF_MS_MAX));
        this.#schedule(Math.max(0, delay));
      });
    }, delayMs);
    this.#timer.unref?.();
  }

  /** One epoch attempt. Never throws: a failure leaves the log as it was. Calls run one at a time. */
  sealOnce(): Promise<SealOutcome> {
    const next = this.#tail.then(() => this.#attempt());
    this.#tail = next;
    return next;
  }

  async #attempt(): Promise<SealOutcome> {
    const started = performance.now();
    try {
      const outcome = await this.#seal();
      this.#failures = 0;
      this.#o.onAttempt?.(outcome, (performance.now() - started) / 1000, undefined);
      return outcome;
    } catch (error) {
      this.#failures += 1;
      this.#o.onAttempt?.('failed', (performance.now() - started) / 1000, error);
      // A refusal is not an outage: say so, since it lasts until an operator repairs the shard.
      const what = error instanceof SealError ? 'refused' : 'abandoned';
      this.#o.onProblem?.(`epoch ${this.#o.log.head().size + 1} ${what} (${this.#failures} in a row)`, error);
      return 'failed';
    }
  }

  async #seal(): Promise<SealOutcome> {
    const o = this.#o;
    const last = o.log.last()?.state;
    const streamLast = await o.markers.lastSeq();
    let cut: number;
    if (this.#pending !== undefined && streamLast === this.#pending.lastSeq) {
      // The last attempt published markers but did not complete, and nothing arrived since: its
      // cut is still a consistent cut, so ask again instead of adding more markers to the stream.
      cut = this.#pending.cut;
    } else if (last !== undefined && streamLast === this.#sealedThrough) {
      return 'idle';
    } else {
      cut = await o.markers.publishMarkers(o.log.head().size + 1);
      this.#pending = { cut, lastSeq: cut + o.shards - 1 };
    }
    if (last !== undefined && this.#pending?.cut === cut && last.cut === cut) {
      // The attempt that failed did write this cut's state (a check after the write failed): it
      // is in the log, so sign it rather than fail at this cut for as long as the stream is idle.
      this.#sealedAt(cut);
      this.#signed = sign(o, o.log.head());
      return 'appended';
    }
    if (last !== undefined && cut <= last.cut) throw new Error(`cut ${cut} is not after the last cut ${last.cut}`);
    const heads = await this.#headsAt(cut);
    if (last !== undefined) await checkGrowth(last, heads, o.reads);
    // The cut counts as sealed only once its state is in the log (or there was none to add): a
    // failed append must leave it pending, or the next tick would call the stream idle, never seal
    // what reached the shards, and reset the failure count that /healthz reads.
    if (last !== undefined && heads.every((h, i) => sameHead(h, last.shards[i]))) {
      this.#sealedAt(cut);
      return 'unchanged';
    }
    const state: GlobalState = { origin: o.origin, epoch: o.log.head().size + 1, cut, shards: heads };
    const head = await o.log.append(state);
    this.#sealedAt(cut);
    this.#signed = sign(o, head);
    return 'appended';
  }

  /** The stream up to this cut's marker batch is sealed: the next tick with nothing new is idle. */
  #sealedAt(cut: number): void {
    this.#sealedThrough = cut + this.#o.shards - 1;
    this.#pending = undefined;
  }

  async #headsAt(cut: number): Promise<TreeHead[]> {
    const o = this.#o;
    const asks: Promise<TreeHead>[] = [];
    for (let shard = 0; shard < o.shards; shard += 1) asks.push(o.reads.headAt(shard, cut, o.head_timeout_ms));
    const heads = await Promise.all(asks);
    heads.forEach((h, shard) => {
      if (!Number.isSafeInteger(h.size) || h.size < 0 || h.root.length !== 32) throw new Error(`shard ${shard} answered a malformed head`);
    });
    return heads;
  }
}

/**
 * A shard's tree only grows, and only by appending. A smaller size at a later cut means a shard was
 * rolled back (restored from an old copy); another root at the same size, or a larger tree that no
 * consistency proof links to the last sealed head, means its history was rewritten. Sealing either
 * would sign a fork, so the epoch is refused (SealError) and keeps being refused.
 */
async function checkGrowth(last: GlobalState, heads: readonly TreeHead[], reads: ShardReads): Promise<void> {
  if (heads.length !== last.shards.length) throw new Error(`${heads.length} heads for a state of ${last.shards.length} shards`);
  // Every cheap check first, so a refusal never leaves proof requests running behind it.
  const grown: number[] = [];
  heads.forEach((h, shard) => {
    const before = last.shards[shard] as TreeHead;
    if (h.size < before.size) {
      throw new SealError(SealErrorCode.Rollback, shard, `shard ${shard} went back from size ${before.size} to ${h.size}: refusing to seal a rollback`);
    }
    if (h.size === before.size && !bytesEqual(h.root, before.root)) {
      throw new SealError(SealErrorCode.Fork, shard, `shard ${shard} changed its root at size ${h.size}: refusing to seal a fork`);
    }
    // Every tree extends the empty one: growth from size 0 needs no proof (RFC 9162 has none).
    if (h.size > before.size && before.size > 0) grown.push(shard);
  });
  // One request per grown shard, at most the shard count, each bounded by the reads' own timeout.
  await Promise.all(grown.map((shard) => checkExtends(reads, shard, last.shards[shard] as TreeHead, heads[shard] as TreeHead)));
}

/**
 * Asks the shard for the consistency proof between its sealed and its new head and verifies it
 * here: the shard's word that it only appended is not trusted. A proof that cannot be fetched fails
 * the attempt like a missing head (it is retried); one that does not verify refuses the epoch.
 */
async function checkExtends(reads: ShardReads, shard: number, before: TreeHead, after: TreeHead): Promise<void> {
  const proof = await reads.consistencyProof(shard, before.size, after.size);
  try {
    verifyConsistency(before.size, after.size, proof, before.root, after.root, nobleHasher);
  } catch (error) {
    if (!(error instanceof MerkleError)) throw error;
    throw new SealError(
      SealErrorCode.Inconsistent,
      shard,
      `shard ${shard} at size ${after.size} does not extend its sealed head at size ${before.size} (${error.code}): refusing to seal a rewritten history`,
      { cause: error },
    );
  }
}

function sameHead(a: TreeHead, b: TreeHead | undefined): boolean {
  return b !== undefined && a.size === b.size && bytesEqual(a.root, b.root);
}

function sign(o: SealerOptions, head: StateLogHead): SignedHead {
  const root = head.size === 0 ? emptyRoot(nobleHasher) : head.root;
  const note = signCheckpoint({ origin: o.origin, size: head.size, rootHash: root }, [o.signer]);
  return Object.freeze({ size: head.size, root, note });
}
