// The closed loop and the one way a transaction is sent. Each of N clients runs iteration after
// iteration, sending its next request only when the previous one was answered, until the phase's
// deadline or its request budget runs out. A transaction without a deciding answer (503, 504, 500,
// no answer) is resent with the same id, a bounded number of times: the id is the idempotency key,
// so a resend either returns the original receipt or commits it once.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Receipt } from '@cairn/wire';
import type { JsonPoster, PostAnswer } from './http.js';
import type { LoadStats } from './stats.js';
import type { SentTx } from './log.js';

/** Pause before a resend when the answer named no Retry-After. */
export const RESEND_PAUSE_MS = 50;

export class Budget {
  readonly #deadline: number;
  #left: number;

  constructor(duration_ms: number, requests_max: number) {
    this.#deadline = performance.now() + duration_ms;
    this.#left = requests_max;
  }

  /** True while the phase may start another iteration. */
  get open(): boolean {
    return this.#left > 0 && performance.now() < this.#deadline;
  }

  /** Takes one request from the budget; false when none is left. */
  take(): boolean {
    if (this.#left <= 0) return false;
    this.#left -= 1;
    return true;
  }
}

/** Runs `clients` loops of `iteration(client, n)` while the budget is open; returns the seconds taken. */
export async function closedLoop(clients: number, budget: Budget, iteration: (client: number, n: number) => Promise<void>): Promise<number> {
  const start = performance.now();
  const loop = async (client: number): Promise<void> => {
    for (let n = 0; budget.open; n += 1) await iteration(client, n);
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => loop(c)));
  return (performance.now() - start) / 1_000;
}

export type Outcome =
  | { readonly kind: 'committed'; readonly receipt: Receipt }
  | { readonly kind: 'refused'; readonly status: number; readonly code: string }
  | { readonly kind: 'uncertain'; readonly code: string }
  | { readonly kind: 'not_sent' };

export interface Sender {
  readonly poster: JsonPoster;
  readonly stats: LoadStats;
  /** Requests are taken from it; undefined = unbudgeted (setup, resolution). */
  readonly budget: Budget | undefined;
  readonly uncertain_retries_max: number;
}

/** True for answers that do not say whether the transaction was committed. */
export function undecided(answer: PostAnswer): boolean {
  return answer.status === 0 || answer.status === 500 || answer.status === 503 || answer.status === 504;
}

export async function send(s: Sender, tx: SentTx): Promise<Outcome> {
  let last = 'not_sent';
  for (let attempt = 0; attempt <= s.uncertain_retries_max; attempt += 1) {
    if (s.budget !== undefined && !s.budget.take()) return attempt === 0 ? { kind: 'not_sent' } : { kind: 'uncertain', code: last };
    if (attempt > 0) s.stats.uncertain_retries += 1;
    const answer = await s.poster.post('/v1/transactions', tx);
    s.stats.record(answer);
    if (!undecided(answer)) return decided(answer, tx);
    last = answer.code ?? String(answer.status);
    if (attempt < s.uncertain_retries_max) await sleep(answer.retry_after_ms ?? RESEND_PAUSE_MS);
  }
  return { kind: 'uncertain', code: last };
}

function decided(answer: PostAnswer, tx: SentTx): Outcome {
  if (answer.status === 200) {
    const receipt = answer.body as Receipt;
    if (receipt?.status === 'committed' && receipt.id === tx.id && Array.isArray(receipt.records)) return { kind: 'committed', receipt };
    // A 200 that is not this transaction's receipt decides nothing; resolution resends it.
    return { kind: 'uncertain', code: 'bad_receipt' };
  }
  return { kind: 'refused', status: answer.status, code: answer.code ?? 'no_code' };
}
