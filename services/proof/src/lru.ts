// A bounded least-recently-used map, for answers that never change once written (a signed state,
// its inclusion proof at a given log size). The bound is on entries, named by the caller; the
// caller decides what is immutable, this only keeps the most recently used `entries_max` of them.
export class Lru<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(readonly entries_max: number) {
    if (!Number.isSafeInteger(entries_max) || entries_max < 1) throw new RangeError(`entries_max must be an integer >= 1, got ${entries_max}`);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    // Map keeps insertion order: re-inserting makes this the most recently used.
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.entries_max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  /**
   * The value under `key`, made by `make` on a miss. A promise is kept while pending, so callers
   * at the same moment share one read; a rejected one is dropped so the next caller retries.
   */
  getOrMake<T>(this: Lru<K, Promise<T>>, key: K, make: () => Promise<T>): Promise<T> {
    const cached = this.get(key);
    if (cached !== undefined) return cached;
    const made = make();
    this.set(key, made);
    made.catch(() => {
      if (this.#entries.get(key) === made) this.#entries.delete(key);
    });
    return made;
  }
}
