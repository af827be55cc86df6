// The newest version of each key this client has seen proven, so that a later answer cannot go
// back below it. The key index is not in any hash (docs/design/client.md, gaps): a shard can
// answer "latest" with an older version, and the proofs still verify. What a client can check is
// its own knowledge: once version v of a key was proven at leaf i of shard s (by its own write's
// receipt, or by a read), any state whose shard s holds more than i leaves holds version v, so an
// answer from that state with a version below v is stale. Pure and browser-safe: no I/O.
import type { GlobalState } from '@cairn/wire';
import type { ProvenRecord } from './verify/chain.js';
import { VerifyError } from './verify/errors.js';

interface Floor {
  readonly version: number;
  readonly shard: number;
  readonly leafIndex: number;
}

export class VersionFloors {
  // Insertion order is recency: a key learned again moves to the end, the first one is evicted.
  readonly #floors = new Map<string, Floor>();

  constructor(private readonly keys_max: number) {
    if (!Number.isSafeInteger(keys_max) || keys_max < 1) throw new RangeError(`keys_max must be a positive integer, got ${keys_max}`);
  }

  get size(): number {
    return this.#floors.size;
  }

  /** Remembers each record's version when it is the newest seen for its key. */
  learn(records: readonly ProvenRecord[]): void {
    for (const r of records) {
      const floor = this.#floors.get(r.key);
      this.#floors.delete(r.key);
      const newer = floor === undefined || r.version > floor.version;
      this.#floors.set(r.key, newer ? { version: r.version, shard: r.shard, leafIndex: r.leafIndex } : floor);
      if (this.#floors.size > this.keys_max) this.#floors.delete(this.#floors.keys().next().value as string);
    }
  }

  /** The newest version seen of each of `keys` that has one. */
  versions(keys: readonly string[]): Map<string, number> {
    const out = new Map<string, number>();
    for (const key of keys) {
      const floor = this.#floors.get(key);
      if (floor !== undefined) out.set(key, floor.version);
    }
    return out;
  }

  /**
   * Throws stale_version when `state` holds a version of `key` newer than `newest`, the newest
   * version an answer from that state gave for it (the latest read, or the last of a history).
   */
  check(key: string, newest: number, state: GlobalState): void {
    const floor = this.#floors.get(key);
    if (floor === undefined || newest >= floor.version) return;
    const size = state.shards[floor.shard]?.size ?? 0;
    if (floor.leafIndex >= size) return;
    throw new VerifyError(
      'stale_version',
      `${key}: the answer's newest version is ${newest}, but version ${floor.version} (shard ${floor.shard} leaf ${floor.leafIndex}) was proven before and is inside this state (shard size ${size})`,
    );
  }
}
