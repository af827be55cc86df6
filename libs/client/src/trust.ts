// Moving the trusted checkpoint forward, one step at a time. Shared by the client and the auditor.
// Steps are serialized: two answers verified concurrently must not both move the state from the
// same starting point, or the second would skip the consistency check against the first.
import type { TrustedCheckpoint, VerifyContext } from './verify/checkpoint.js';
import { verifyCheckpointNote } from './verify/checkpoint.js';
import { compareCheckpoints, describe, verifyConsistencyAnswer, type VerifiedConsistency } from './verify/consistency.js';
import { VerifyError } from './verify/errors.js';
import { RequestError } from './errors.js';
import type { Http } from './http.js';
import { joinUrl } from './http.js';
import type { StateStore } from './store.js';

export interface TrustOptions {
  /**
   * When false (the client's default), an answer at an OLDER checkpoint than the trusted one is
   * accepted if the server proves that checkpoint is a prefix of the trusted one (a concurrent
   * request may simply have moved trust past it). A server that lost the newer state cannot prove
   * that, so the answer is refused as `rollback`. When true (the auditor), any older checkpoint
   * is a rollback.
   */
  readonly strict: boolean;
}

export interface AcceptOutcome {
  readonly step: 'first' | 'same' | 'forward' | 'backward';
  readonly from: TrustedCheckpoint | undefined;
  readonly consistency: VerifiedConsistency | undefined;
}

export class Trust {
  readonly #ctx: VerifyContext;
  readonly #store: StateStore;
  readonly #http: Http;
  readonly #proofUrl: string;
  readonly #options: TrustOptions;
  #trusted: TrustedCheckpoint | undefined;
  #loaded = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: VerifyContext, store: StateStore, http: Http, proofUrl: string, options: TrustOptions) {
    this.#ctx = ctx;
    this.#store = store;
    this.#http = http;
    this.#proofUrl = proofUrl;
    this.#options = options;
  }

  /** The trusted checkpoint (loaded from the store and re-verified on first use). */
  current(): Promise<TrustedCheckpoint | undefined> {
    return this.#serial(() => this.#load());
  }

  /** Verifies `next` against the trusted checkpoint and moves trust to it when it is newer. */
  accept(next: TrustedCheckpoint): Promise<AcceptOutcome> {
    return this.#serial(() => this.#accept(next));
  }

  #serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(step, step);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #load(): Promise<TrustedCheckpoint | undefined> {
    if (!this.#loaded) {
      const note = await this.#store.load();
      this.#trusted = note === undefined ? undefined : verifyCheckpointNote(note, this.#ctx);
      this.#loaded = true;
    }
    return this.#trusted;
  }

  /**
   * Moves trust to `next`, and the store too unless it already holds a checkpoint at least as new:
   * a store shared with another client (a second browser tab) may have moved on meanwhile, and
   * writing an older note over it would let every later client accept a rolled-back server.
   */
  async #save(next: TrustedCheckpoint): Promise<void> {
    const note = await this.#store.load();
    const stored = note === undefined ? undefined : verifyCheckpointNote(note, this.#ctx);
    if (stored !== undefined && stored.size >= next.size) {
      if (stored.size === next.size) compareCheckpoints(stored, next); // fork when the roots differ
    } else {
      await this.#store.save(next.note);
    }
    this.#trusted = next;
  }

  async #accept(next: TrustedCheckpoint): Promise<AcceptOutcome> {
    const from = await this.#load();
    if (from === undefined) {
      await this.#save(next);
      return { step: 'first', from, consistency: undefined };
    }
    const step = compareCheckpoints(from, next);
    if (step === 'same') return { step, from, consistency: undefined };
    if (step === 'forward') {
      const consistency = from.size === 0 ? undefined : await this.#prove(from, next);
      await this.#save(next);
      return { step, from, consistency };
    }
    const rollback = `checkpoint ${describe(next)} is older than the trusted ${describe(from)}`;
    if (this.#options.strict || next.size === 0) throw new VerifyError('rollback', rollback);
    try {
      return { step, from, consistency: await this.#prove(next, from) };
    } catch (cause) {
      // A server that could not be reached proved nothing either way: an outage, not a rollback.
      if (cause instanceof RequestError) throw cause;
      throw new VerifyError('rollback', `${rollback}, and the server cannot prove it is a prefix`, { cause });
    }
  }

  async #prove(older: TrustedCheckpoint, newer: TrustedCheckpoint): Promise<VerifiedConsistency> {
    const json = await this.#http.get(joinUrl(this.#proofUrl, `/v1/consistency?from=${older.size}&to=${newer.size}`));
    return verifyConsistencyAnswer(json, older, newer, this.#ctx);
  }
}
