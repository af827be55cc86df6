// The tree size after each applied message, for the last `capacity` messages: a merged append
// records one stored head (at its last message), but headAt(seq) must be exact for every message,
// so the shard remembers where each message ended. A ring buffer: fixed memory, O(log n) lookup.
import { ShardError } from './errors.js';

export class Boundaries {
  readonly #seqs: Float64Array;
  readonly #sizes: Float64Array;
  #start = 0;
  #count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#seqs = new Float64Array(capacity);
    this.#sizes = new Float64Array(capacity);
  }

  get count(): number {
    return this.#count;
  }

  /** Records that after message `seq` the tree had `size` leaves. Seqs and sizes never go back. */
  push(seq: number, size: number): void {
    if (this.#count > 0) {
      const last = this.#at(this.#count - 1);
      if (seq <= last.seq || size < last.size) {
        throw new ShardError('SHARD_INTERNAL', `boundary (${seq}, ${size}) after (${last.seq}, ${last.size})`);
      }
    }
    const slot = (this.#start + this.#count) % this.capacity;
    this.#seqs[slot] = seq;
    this.#sizes[slot] = size;
    if (this.#count < this.capacity) this.#count += 1;
    else this.#start = (this.#start + 1) % this.capacity;
  }

  /**
   * The boundary of the last recorded message with seq <= `seq`, or undefined when the ring does
   * not reach back that far (the caller then asks the store).
   */
  lastAtOrBefore(seq: number): { seq: number; size: number } | undefined {
    if (this.#count === 0 || this.#at(0).seq > seq) return undefined;
    let low = 0;
    let high = this.#count - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (this.#at(middle).seq <= seq) low = middle;
      else high = middle - 1;
    }
    return this.#at(low);
  }

  #at(i: number): { seq: number; size: number } {
    const slot = (this.#start + i) % this.capacity;
    return { seq: this.#seqs[slot] as number, size: this.#sizes[slot] as number };
  }
}
