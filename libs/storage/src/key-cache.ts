import type { KeyState } from './decide.js';

/**
 * Latest (version, leaf index) per key, bounded by key_cache_entries_max, evicting the key first
 * written. While nothing was ever evicted and it was filled from an empty store (or warmed
 * with every key at open) it is complete: a miss then proves the key absent, so an append of new
 * keys reads nothing from RocksDB.
 */
export class KeyCache {
  readonly #entries = new Map<string, KeyState>();
  #complete = false;

  constructor(readonly capacity: number) {}

  get complete(): boolean {
    return this.#complete;
  }

  markComplete(): void {
    this.#complete = this.capacity > 0;
  }

  get(key: string): KeyState | undefined {
    return this.#entries.get(key);
  }

  set(key: string, state: KeyState): void {
    if (this.capacity === 0) return;
    // An update keeps the key's place in insertion order: eviction is first-written-first-out,
    // which costs one Map operation per write instead of a delete and a re-insert.
    this.#entries.set(key, state);
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
      this.#complete = false;
    }
  }
}
