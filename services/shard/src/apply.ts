// The apply loop: consumed messages -> storage appends -> commit events. The store commits the
// stream sequence with the data in one synced write (exactly-once across crashes); this module
// makes that sequence advance in stream order, keeps per-message boundaries for headAt, and tells
// the ingest what happened to every transaction. Up to appends_inflight_max appends are handed to
// the store at once, so the store decides the next run while the previous write syncs; their
// results are still taken in one at a time, in stream order. docs/design/shard.md, "Apply loop".
import { StorageError, StorageErrorCode, type AppendResult, type Store, type TxResult as StoreTxResult, type TxStatus } from '@cairn/storage';
import { PUBLISH_OVERHEAD_BYTES_MAX } from '@cairn/transport';
import { encodeCommitEvent, type CommitEvent, type TxResult } from '@cairn/wire';
import { Boundaries } from './boundaries.js';
import { isInputError, ShardError } from './errors.js';
import { decodeMessage, planRuns, runTxs, storeRefusal, type Decoded, type InboundMessage, type Layout, type Run, type RunLimits } from './plan.js';

export interface ApplierOptions {
  readonly layout: Layout;
  readonly limits: RunLimits;
  readonly boundaries_max: number;
  /** Appends handed to the store and not yet taken in (1 = one at a time); at most the store's append_queue_max. */
  readonly appends_inflight_max: number;
  /**
   * Called after each transaction message's commit, in stream order: once, or once per piece
   * when its event is larger than event_bytes_max.
   */
  readonly publish: (event: Uint8Array) => void;
  /**
   * The largest commit event published whole (the broker's max_payload less its headers): an
   * event lists every record's key, so with small values it can outgrow its message. Default
   * EVENT_BYTES_MAX_DEFAULT.
   */
  readonly event_bytes_max?: number;
  readonly log: (line: string) => void;
  /** Called once per storage append taken in: seconds from handing it to the store to its synced result. */
  readonly observeAppend?: (seconds: number) => void;
}

export interface ApplyStats {
  messages: number;
  markers: number;
  rejected: number;
  appends: number;
  txs: number;
  skipped: number;
  /** Appends handed to the store while an earlier one was still in flight. */
  pipelined: number;
  /** Delivered messages the server flagged as sent before (crash, lost ack, expired ack wait). */
  redelivered: number;
  /** Records committed: leaves appended to the tree. */
  records: number;
  /** Transactions by what the store decided. */
  readonly outcomes: Record<TxStatus, number>;
  /** Messages applied empty because the store refused their content (a subset of `rejected`). */
  store_refused: number;
  /** Commit events published in pieces because they exceeded event_bytes_max. */
  events_split: number;
  /** Transactions whose result alone exceeded event_bytes_max: committed, never announced. */
  events_dropped: number;
}

/** nats-server's default max_payload (1 MiB) less the publish headers' room. */
export const EVENT_BYTES_MAX_DEFAULT = 1_048_576 - PUBLISH_OVERHEAD_BYTES_MAX;

/** Plain numbers bumped once per message or per append; metrics read them at scrape time. */
function emptyStats(): ApplyStats {
  return {
    messages: 0,
    markers: 0,
    rejected: 0,
    appends: 0,
    txs: 0,
    skipped: 0,
    pipelined: 0,
    redelivered: 0,
    records: 0,
    outcomes: { committed: 0, duplicate: 0, id_conflict: 0, precondition_failed: 0 },
    store_refused: 0,
    events_split: 0,
    events_dropped: 0,
  };
}

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
}

type Outcome = { readonly ok: true; readonly result: AppendResult } | { readonly ok: false; readonly error: unknown };

/** An append handed to the store whose result the loop has not taken in yet. */
interface InFlight {
  readonly run: Run;
  /** Resolves once its result was taken in (or the loop stopped); never rejects. */
  readonly settled: Promise<void>;
  /** The store's answer to its append. */
  readonly outcome: Promise<Outcome>;
}

export class Applier {
  readonly boundaries: Boundaries;
  readonly stats: ApplyStats = emptyStats();
  /** Rejects with the error that stopped the loop, also when no apply() call was running to throw it. */
  readonly failure: Promise<never>;
  #applied: number;
  /** Sequence of the last run handed to the store (>= applied): redeliveries are checked against it. */
  #issued: number;
  /** Runs a recovery applied again after their own append was aborted; their results are not taken in twice. */
  readonly #reapplied = new Set<Run>();
  readonly #inflightMax: number;
  /** Oldest first; at most appends_inflight_max. */
  readonly #inflight: InFlight[] = [];
  /** End of the chain that takes results in, in issue order. */
  #taken: Promise<void> = Promise.resolve();
  /** Set while a refused run is retried message by message: nothing may be issued behind it. */
  #recovering: Promise<void> | undefined;
  #stopped: { readonly error: unknown } | undefined;
  #rejectFailure: (error: unknown) => void = () => undefined;
  #applying = false;
  #waiters: Waiter[] = [];

  constructor(
    readonly store: Store,
    private readonly options: ApplierOptions,
  ) {
    const max = options.appends_inflight_max;
    const queueMax = store.limits.append_queue_max;
    // The store pushes back beyond append_queue_max (STORAGE_BUSY), which would stop the shard.
    if (!Number.isSafeInteger(max) || max < 1 || max > queueMax) {
      throw new ShardError('SHARD_CONFIG', `appends_inflight_max must be in [1, ${queueMax}] (the store's append_queue_max), got ${max}`);
    }
    this.#inflightMax = max;
    this.boundaries = new Boundaries(options.boundaries_max);
    const head = store.head();
    this.#applied = head.seq;
    this.#issued = head.seq;
    // The stored head is exact at its own sequence: the ring starts there.
    if (head.seq > 0) this.boundaries.push(head.seq, head.size);
    this.failure = new Promise<never>((_, reject) => {
      this.#rejectFailure = reject;
    });
    // A caller that never looks at `failure` must not see an unhandled rejection.
    this.failure.catch(() => undefined);
  }

  /** Stream sequence of the last applied message; every message of the subject up to it is in the store. */
  get applied(): number {
    return this.#applied;
  }

  /** Appends handed to the store whose results were not taken in yet. */
  get inflight(): number {
    return this.#inflight.length;
  }

  /**
   * Applies a batch of consumed messages (stream order). Resolves once every run is handed to the
   * store and at most appends_inflight_max - 1 are still in flight, so the next batch's first run
   * is decided while they sync (with 1, only after every write synced). Throws only on errors that
   * must stop the shard, including one an earlier batch's append met after its apply() resolved.
   */
  async apply(msgs: readonly InboundMessage[]): Promise<void> {
    this.#throwIfStopped();
    if (this.#applying) throw new ShardError('SHARD_INTERNAL', 'apply() called while another call is running');
    this.#applying = true;
    try {
      const fresh: Decoded[] = [];
      for (const msg of msgs) {
        if (msg.redelivered === true) this.stats.redelivered += 1;
        // Redelivered at or below what the store was handed: already in it or on its way (exactly
        // once; if that write fails the shard stops and restarts from the committed sequence).
        if (msg.seq <= this.#issued) {
          this.stats.skipped += 1;
          continue;
        }
        fresh.push(decodeMessage(msg, this.options.layout));
      }
      for (const run of planRuns(fresh, this.options.limits)) {
        if (storeRefusal(run, this.store.limits) === undefined) await this.#issue(run);
        else await this.#applyAlone(run);
      }
      await this.#waitInflightAtMost(this.#inflightMax - 1);
    } catch (error) {
      // Whatever stops this call stops the loop: appends after it would skip what it did not apply.
      this.#stop(error);
      throw error;
    } finally {
      this.#applying = false;
    }
  }

  /** Resolves once every append handed to the store was taken in; rejects with the error that stopped the loop. */
  drain(): Promise<void> {
    return this.#waitInflightAtMost(0);
  }

  /** Resolves once `seq` is applied, or rejects at the deadline. Bounded by the caller's in-flight limit. */
  waitApplied(seq: number, timeoutMs: number): Promise<void> {
    if (seq <= this.#applied) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new ShardError('SHARD_HEAD_TIMEOUT', `shard has applied ${this.#applied}, not ${seq}, after ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.push(waiter);
    });
  }

  async #waitInflightAtMost(count: number): Promise<void> {
    // Each pass waits for the oldest append to be taken in; at most appends_inflight_max passes.
    while (this.#inflight.length > count || this.#recovering !== undefined) {
      await (this.#recovering ?? (this.#inflight[0] as InFlight).settled);
    }
    this.#throwIfStopped();
  }

  /** Hands a run the store is sure to accept to the store, behind those in flight. */
  async #issue(run: Run): Promise<void> {
    // The check and the append are in one synchronous step: a recovery cannot start in between.
    while (this.#inflight.length >= this.#inflightMax || this.#recovering !== undefined) {
      await (this.#recovering ?? (this.#inflight[0] as InFlight).settled);
    }
    this.#throwIfStopped();
    if (this.#inflight.length > 0) this.stats.pipelined += 1;
    this.#issued = run.seq;
    const issuedAt = performance.now();
    const outcome = this.store.append({ seq: run.seq, txs: runTxs(run) }).then(
      (result): Outcome => ({ ok: true, result }),
      (error: unknown): Outcome => ({ ok: false, error }),
    );
    const settled = this.#taken.then(() => this.#takeIn(run, outcome, issuedAt));
    this.#taken = settled;
    this.#inflight.push({ run, settled, outcome });
  }

  /** Takes one pipelined append's result in, after every earlier one. Never rejects: a fatal error stops the loop. */
  async #takeIn(run: Run, outcome: Promise<Outcome>, issuedAt: number): Promise<void> {
    const result = await outcome;
    try {
      if (this.#stopped !== undefined) return;
      // Applied again by the recovery of a refused run before it (its own append was aborted).
      if (this.#reapplied.delete(run)) return;
      if (result.ok) this.#finish(run, result.result, issuedAt);
      else await this.#recover(run, result.error);
    } catch (error) {
      this.#stop(error);
    } finally {
      const head = this.#inflight.shift();
      if (head?.run !== run) this.#stop(new ShardError('SHARD_INTERNAL', `append results taken in out of order at run ${run.seq}`));
    }
  }

  /**
   * A pipelined run the store refused. storeRefusal passed it, so this means the two disagree. The
   * store aborts every run above a refused one until that one is appended (STORAGE_ABORTED,
   * nothing of them written), so the runs already issued behind it are intact: this one is
   * retried alone, message by message, and then they are appended again, in order, before
   * anything new is issued. (Before 2026-11-27 the store committed them over the refused run and
   * the shard had to stop; as the refusal repeats on replay, it stopped on every restart.)
   */
  async #recover(run: Run, error: unknown): Promise<void> {
    if (!isInputError(error)) throw error;
    const behind = this.#inflight.filter((f) => f.run.seq > run.seq);
    this.options.log(`store refused run ${run.seq} that the shard's input check passed: ${message(error)}${behind.length > 0 ? `; the ${behind.length} runs behind it go again after it` : ''}`);
    const recovery = this.#recoverInOrder(run, message(error), behind);
    this.#recovering = recovery;
    try {
      await recovery;
    } finally {
      this.#recovering = undefined;
    }
  }

  async #recoverInOrder(run: Run, refusal: string, behind: readonly InFlight[]): Promise<void> {
    for (const f of behind) {
      const o = await f.outcome;
      if (o.ok || !(o.error instanceof StorageError && o.error.code === StorageErrorCode.Aborted)) {
        throw new ShardError('SHARD_INTERNAL', `run ${f.run.seq}, issued behind refused run ${run.seq}, was not aborted by the store`, { cause: o.ok ? undefined : o.error });
      }
    }
    await this.#applyAlone(run, refusal);
    for (const f of behind) {
      this.#reapplied.add(f.run);
      const refused = await this.#appendOne(f.run);
      if (refused !== undefined) await this.#applyAlone(f.run, refused);
    }
  }

  /**
   * One append at a time, as before pipelining, for a run the store may refuse: a refused run is
   * retried message by message so that only the offending one is rejected, and a single message it
   * refuses is applied empty (the same decision on every replay). Nothing else is in flight
   * meanwhile: called after a drain, or by #recover with nothing issued behind the run.
   */
  async #applyAlone(run: Run, refused?: string): Promise<void> {
    if (refused === undefined) {
      await this.#waitInflightAtMost(0);
      this.#issued = run.seq;
    }
    const first = refused ?? (await this.#appendOne(run));
    if (first === undefined) return;
    for (const msg of run.msgs) {
      const refusal = run.msgs.length > 1 ? await this.#appendOne({ msgs: [msg], seq: msg.seq }) : first;
      if (refusal === undefined) continue;
      const empty: Run = { msgs: [{ kind: 'rejected', seq: msg.seq, reason: `store refused: ${refusal}` }], seq: msg.seq };
      const again = await this.#appendOne(empty);
      if (again === undefined) this.stats.store_refused += 1;
      if (again !== undefined) throw new ShardError('SHARD_INTERNAL', `store refused the empty append of message ${msg.seq}: ${again}`);
    }
  }

  /** Appends and takes the result in; returns the refusal when the store refused the input. */
  async #appendOne(run: Run): Promise<string | undefined> {
    let result: AppendResult;
    const issuedAt = performance.now();
    try {
      result = await this.store.append({ seq: run.seq, txs: runTxs(run) });
    } catch (error) {
      if (!isInputError(error)) throw error;
      return message(error);
    }
    this.#finish(run, result, issuedAt);
    return undefined;
  }

  #finish(run: Run, result: AppendResult, issuedAt: number): void {
    if (result.skipped) throw new ShardError('SHARD_INTERNAL', `store skipped seq ${run.seq} above applied ${this.#applied}`);
    if (run.seq <= this.#applied) throw new ShardError('SHARD_INTERNAL', `run ${run.seq} finished after ${this.#applied}`);
    this.options.observeAppend?.((performance.now() - issuedAt) / 1_000);
    this.stats.appends += 1;
    const { size, root } = result.head;
    const results = result.txs;
    const committedRecords = results.reduce((n, r) => n + (r.status === 'committed' ? r.records.length : 0), 0);
    let end = size - committedRecords;
    let at = 0;
    const events: CommitEvent[] = [];
    for (const msg of run.msgs) {
      this.stats.messages += 1;
      if (msg.kind === 'marker') this.stats.markers += 1;
      if (msg.kind === 'rejected') {
        this.stats.rejected += 1;
        this.options.log(`rejected message ${msg.seq}: ${msg.reason}`);
      }
      if (msg.kind === 'txs') {
        const mine = results.slice(at, at + msg.txs.length);
        if (mine.length !== msg.txs.length) throw new ShardError('SHARD_INTERNAL', `store answered ${results.length} transactions for run ${run.seq}`);
        at += msg.txs.length;
        for (const r of mine) {
          if (r.status === 'committed') end += r.records.length;
          this.stats.outcomes[r.status] += 1;
        }
        this.stats.txs += mine.length;
        events.push({ seq: msg.seq, shard: this.options.layout.shard, size, root, txs: mine.map(toWireResult) });
      }
      this.boundaries.push(msg.seq, end);
    }
    if (end !== size) throw new ShardError('SHARD_INTERNAL', `run ${run.seq}: boundaries end at ${end}, store at ${size}`);
    this.stats.records += committedRecords;
    this.#applied = run.seq;
    for (const event of events) this.#publish(event);
    this.#wake();
  }

  /**
   * Publishes `event`, cut by transactions into pieces of at most event_bytes_max bytes: one too
   * large for the broker was refused after its commit and stopped the shard. The ingest matches
   * results by transaction id, so pieces of one event are as good as the whole. Each pass
   * publishes a piece or halves one, so there are fewer than 2 x txs + 1 passes.
   */
  #publish(event: CommitEvent): void {
    const max = this.options.event_bytes_max ?? EVENT_BYTES_MAX_DEFAULT;
    const pending: CommitEvent[] = [event];
    for (let pass = 0; pending.length > 0 && pass <= 2 * event.txs.length; pass += 1) {
      const piece = pending.pop() as CommitEvent;
      const bytes = encodeCommitEvent(piece);
      if (bytes.length <= max) {
        if (piece !== event) this.stats.events_split += 1;
        this.options.publish(bytes);
      } else if (piece.txs.length > 1) {
        const half = Math.ceil(piece.txs.length / 2);
        pending.push({ ...piece, txs: piece.txs.slice(half) }, { ...piece, txs: piece.txs.slice(0, half) });
      } else {
        // The ingest refuses a transaction whose result could not fit (tx_too_large); only another
        // writer with looser limits gets here. Its waiters time out and can read the ledger.
        this.stats.events_dropped += 1;
        this.options.log(`commit event of message ${piece.seq}: transaction ${piece.txs[0]?.id ?? '?'} alone takes ${bytes.length} bytes, over ${max}; not announced`);
      }
    }
  }

  #stop(error: unknown): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = { error };
    this.options.log(`apply loop stopped at applied ${this.#applied}: ${message(error)}`);
    this.#rejectFailure(error);
  }

  #throwIfStopped(): void {
    if (this.#stopped !== undefined) throw this.#stopped.error;
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const ready = this.#waiters.filter((w) => w.seq <= this.#applied);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.seq > this.#applied);
    for (const w of ready) w.resolve();
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function toWireResult(r: StoreTxResult): TxResult {
  return { id: r.id, status: r.status, records: r.records.map((x) => ({ key: x.key, version: x.version, leafIndex: x.leafIndex })) };
}
