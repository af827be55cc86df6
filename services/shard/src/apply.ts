// The apply loop: consumed messages -> storage appends -> commit events. The store commits the
// stream sequence with the data in one synced write (exactly-once across crashes); this module
// makes that sequence advance in stream order, keeps per-message boundaries for headAt, and tells
// the ingest what happened to every transaction. docs/design/shard.md, "Apply loop".
import type { AppendResult, Store, TxResult as StoreTxResult } from '@cairn/storage';
import { encodeCommitEvent, type CommitEvent, type TxResult } from '@cairn/wire';
import { Boundaries } from './boundaries.js';
import { isInputError, ShardError } from './errors.js';
import { decodeMessage, planRuns, runTxs, type Decoded, type InboundMessage, type Layout, type Run, type RunLimits } from './plan.js';

export interface ApplierOptions {
  readonly layout: Layout;
  readonly limits: RunLimits;
  readonly boundaries_max: number;
  /** Called once per transaction message after its commit, in stream order. */
  readonly publish: (event: Uint8Array) => void;
  readonly log: (line: string) => void;
}

export interface ApplyStats {
  messages: number;
  markers: number;
  rejected: number;
  appends: number;
  txs: number;
  skipped: number;
}

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
}

export class Applier {
  readonly boundaries: Boundaries;
  readonly stats: ApplyStats = { messages: 0, markers: 0, rejected: 0, appends: 0, txs: 0, skipped: 0 };
  #applied: number;
  #waiters: Waiter[] = [];

  constructor(
    readonly store: Store,
    private readonly options: ApplierOptions,
  ) {
    this.boundaries = new Boundaries(options.boundaries_max);
    const head = store.head();
    this.#applied = head.seq;
    // The stored head is exact at its own sequence: the ring starts there.
    if (head.seq > 0) this.boundaries.push(head.seq, head.size);
  }

  /** Stream sequence of the last applied message; every message of the subject up to it is in the store. */
  get applied(): number {
    return this.#applied;
  }

  /** Applies a batch of consumed messages (stream order). Throws only on errors that must stop the shard. */
  async apply(msgs: readonly InboundMessage[]): Promise<void> {
    const fresh: Decoded[] = [];
    for (const msg of msgs) {
      // Redelivered at or below the committed sequence: already in the store, skip (exactly once).
      if (msg.seq <= this.#applied) {
        this.stats.skipped += 1;
        continue;
      }
      fresh.push(decodeMessage(msg, this.options.layout));
    }
    for (const run of planRuns(fresh, this.options.limits)) await this.#applyRun(run);
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

  async #applyRun(run: Run): Promise<void> {
    let result: AppendResult;
    try {
      result = await this.store.append({ seq: run.seq, txs: runTxs(run) });
    } catch (error) {
      if (!isInputError(error)) throw error;
      // The store refused the content. Retry message by message so that only the offending one
      // is rejected; a single message it refuses is applied empty (same decision on every replay).
      if (run.msgs.length > 1) {
        for (const msg of run.msgs) await this.#applyRun({ msgs: [msg], seq: msg.seq });
        return;
      }
      const msg = run.msgs[0] as Decoded;
      const reason = error instanceof Error ? error.message : String(error);
      await this.#applyRun({ msgs: [{ kind: 'rejected', seq: msg.seq, reason: `store refused: ${reason}` }], seq: msg.seq });
      return;
    }
    if (result.skipped) throw new ShardError('SHARD_INTERNAL', `store skipped seq ${run.seq} above applied ${this.#applied}`);
    this.stats.appends += 1;
    this.#finish(run, result.head.size, result.head.root, result.txs);
  }

  #finish(run: Run, size: number, root: Uint8Array, results: readonly StoreTxResult[]): void {
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
        for (const r of mine) if (r.status === 'committed') end += r.records.length;
        this.stats.txs += mine.length;
        events.push({ seq: msg.seq, shard: this.options.layout.shard, size, root, txs: mine.map(toWireResult) });
      }
      this.boundaries.push(msg.seq, end);
    }
    if (end !== size) throw new ShardError('SHARD_INTERNAL', `run ${run.seq}: boundaries end at ${end}, store at ${size}`);
    this.#applied = run.seq;
    for (const event of events) this.options.publish(encodeCommitEvent(event));
    this.#wake();
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const ready = this.#waiters.filter((w) => w.seq <= this.#applied);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.seq > this.#applied);
    for (const w of ready) w.resolve();
  }
}

function toWireResult(r: StoreTxResult): TxResult {
  return { id: r.id, status: r.status, records: r.records.map((x) => ({ key: x.key, version: x.version, leafIndex: x.leafIndex })) };
}
