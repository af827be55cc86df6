// Each API key's share of the gateway's waiting capacity. Without it one shop sending faster than
// the ledger commits fills waiters_max, and every other shop's writes get 503 too. With it, that
// shop meets its own bound first (503 api_key_busy, Retry-After) and the others still get in.
// Reasons: docs/design/ingest.md, "A share of the gateway per API key".
import { CairnError } from '@cairn/wire';

export class KeyShares {
  // Key name -> transactions admitted and not yet answered. A key leaves the map when it has
  // none, so the map holds at most the keys with requests open (at most api_keys_max).
  readonly #waiting = new Map<string, number>();

  constructor(
    private readonly waiters_max: number,
    private readonly retry_after_s: number,
  ) {}

  /** Takes `count` of the key's share, or throws api_key_busy and takes nothing. */
  take(name: string, count: number): void {
    const held = this.#waiting.get(name) ?? 0;
    if (held + count > this.waiters_max) {
      throw new CairnError('api_key_busy', `API key ${name} has ${held} transactions waiting; at most ${this.waiters_max} (api_key_waiters_max)`, {
        retryAfterSeconds: this.retry_after_s,
      });
    }
    this.#waiting.set(name, held + count);
  }

  /** Gives back what take() took, once its transactions are answered. */
  give(name: string, count: number): void {
    const held = this.#waiting.get(name) ?? 0;
    if (count > held) throw new Error(`KeyShares: ${name} gives back ${count} of ${held}`);
    if (held === count) this.#waiting.delete(name);
    else this.#waiting.set(name, held - count);
  }

  /** Transactions waiting under `name` (0 for a key with none). */
  waiting(name: string): number {
    return this.#waiting.get(name) ?? 0;
  }
}
