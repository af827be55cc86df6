// What a load phase measured: every HTTP answer by status and code, request latencies (bounded
// sample), retries, and the transaction outcomes.
import type { PostAnswer } from './http.js';

/** Latencies kept for the percentiles; past it every k-th is kept (the figures stay unbiased). */
export const LATENCY_SAMPLES_MAX = 1_000_000;

export interface StatsSummary {
  readonly seconds: number;
  readonly requests: number;
  readonly committed: number;
  readonly transactions_per_s: number;
  readonly requests_per_s: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  /** The slowest request of the whole phase (not sampled). */
  readonly max_ms: number;
  /** "200", "409 precondition_failed", "0 network", ... -> count. */
  readonly answers: Readonly<Record<string, number>>;
  /** New attempts after precondition_failed (checkout). */
  readonly precondition_retries: number;
  /** Same-id resends after an answer that did not decide (503, 504, 500, no answer). */
  readonly uncertain_retries: number;
  /** nft: transfers that lost the race for a version (the expected answer for all but one). */
  readonly races_lost: number;
}

export class LoadStats {
  requests = 0;
  committed = 0;
  precondition_retries = 0;
  uncertain_retries = 0;
  races_lost = 0;
  readonly #answers = new Map<string, number>();
  readonly #latencies: number[] = [];
  #stride = 1;
  #seen = 0;
  #max_ms = 0;

  record(answer: PostAnswer): void {
    this.requests += 1;
    const name = answer.code === undefined ? String(answer.status) : `${answer.status} ${answer.code}`;
    this.#answers.set(name, (this.#answers.get(name) ?? 0) + 1);
    this.#seen += 1;
    this.#max_ms = Math.max(this.#max_ms, answer.latency_ms);
    if (this.#seen % this.#stride !== 0) return;
    if (this.#latencies.length >= LATENCY_SAMPLES_MAX) {
      // Keep every other sample and halve the rate: a bounded, evenly spread sample.
      for (let i = 0; i < this.#latencies.length / 2; i += 1) this.#latencies[i] = this.#latencies[i * 2] as number;
      this.#latencies.length = Math.floor(this.#latencies.length / 2);
      this.#stride *= 2;
    }
    this.#latencies.push(answer.latency_ms);
  }

  summary(seconds: number): StatsSummary {
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const per = (n: number): number => (seconds > 0 ? n / seconds : 0);
    return {
      seconds,
      requests: this.requests,
      committed: this.committed,
      transactions_per_s: per(this.committed),
      requests_per_s: per(this.requests),
      p50_ms: percentile(sorted, 0.5),
      p99_ms: percentile(sorted, 0.99),
      max_ms: this.#max_ms,
      answers: Object.fromEntries([...this.#answers].sort((a, b) => b[1] - a[1])),
      precondition_retries: this.precondition_retries,
      uncertain_retries: this.uncertain_retries,
      races_lost: this.races_lost,
    };
  }
}

/** Nearest-rank percentile of an ascending array; 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!(p > 0 && p <= 1)) throw new RangeError(`percentile must be in (0, 1], got ${p}`);
  if (sorted.length === 0) return 0;
  return sorted[Math.ceil(p * sorted.length) - 1] as number;
}
