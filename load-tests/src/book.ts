// The generator's view of each hot key: the newest version it was told about and the value at it.
// It is what a shop backend would read before a conditional write. It moves only forward, from
// receipts (answers may arrive out of order) or from a verified read through the SDK when the
// receipts say nothing newer (a transaction whose answer was lost may still have committed).
import { setTimeout as sleep } from 'node:timers/promises';
import type { CairnClient } from '@cairn/client';

/** Polls of the book for a newer version before reading through the proof service. */
export const REFRESH_POLLS_MAX = 5;
export const REFRESH_POLL_MS = 2;

export interface Known<V> {
  readonly version: number;
  readonly value: V;
}

export class KeyBook<V> {
  readonly #latest = new Map<string, Known<V>>();

  get(key: string): Known<V> | undefined {
    return this.#latest.get(key);
  }

  /** Records `version` of `key` unless a newer one is known. */
  advance(key: string, version: number, value: V): void {
    const known = this.#latest.get(key);
    if (known === undefined || known.version < version) this.#latest.set(key, { version, value });
  }

  /**
   * Called after `expect: {version: stale}` failed: waits briefly for a receipt that moves the key
   * past `stale` (the winner's answer is usually in the same flush), else reads the key through the
   * verifying SDK. A signed state may lag the shards, so the caller's retries stay bounded.
   */
  async refresh(key: string, stale: number, sdk: CairnClient, decode: (json: unknown) => V): Promise<Known<V> | undefined> {
    for (let poll = 0; poll < REFRESH_POLLS_MAX; poll += 1) {
      const known = this.get(key);
      if (known !== undefined && known.version > stale) return known;
      await sleep(REFRESH_POLL_MS);
    }
    try {
      const read = await sdk.get(key);
      this.advance(key, read.record.version, decode(read.record.json));
    } catch {
      // Not yet in a signed state, or the proof service is busy: the next attempt reads the book again.
    }
    return this.get(key);
  }
}
