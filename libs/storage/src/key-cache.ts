import type { KeyState } from './decide.js';
import { keyHash } from './key-hash.js';

/** Smallest table; it doubles while the live keys exceed a quarter of its slots. */
const TABLE_SLOTS_MIN = 1024;
/** The table is rebuilt before live keys and evicted slots fill more than half of it: short probes. */
const TABLE_LOAD_MAX = 0.5;

/**
 * Latest (version, leaf index) per key, bounded by key_cache_entries_max. Eviction is CLOCK
 * (second chance) over first-write order: a key written again since it last came round is moved
 * to the back instead of evicted. Plain first-in-first-out evicted the hot keys (stock counters,
 * a popular token) as soon as enough one-off keys (orders, payments) came after them, and each
 * evicted hot key then cost a RocksDB seek on its next write. While nothing was ever evicted and
 * it was filled from an empty store (or warmed with every key at open) it is complete: a miss then
 * proves the key absent, so an append of new keys reads nothing from RocksDB.
 *
 * An open-addressing table over typed arrays instead of a Map<string, KeyState>: at hundreds of
 * thousands of keys a Map lookup costs several cache misses (bucket, entry, key string, value
 * object) and was about 15% of the main thread's time per append; here a lookup reads one slot's
 * hash, the key string only when the hash matches, and two numbers. No object per key is kept, so
 * the collector has less to trace.
 */
export class KeyCache {
  #slots = TABLE_SLOTS_MIN;
  /** FNV-1a of the key, never 0; 0 marks an empty slot. */
  #hashes = new Int32Array(TABLE_SLOTS_MIN);
  /** undefined where the hash is not 0: an evicted key's slot (probes go on past it). */
  #keys: (string | undefined)[] = new Array<string | undefined>(TABLE_SLOTS_MIN).fill(undefined);
  /** version, leaf index per slot. */
  #values = new Float64Array(2 * TABLE_SLOTS_MIN);
  /** 1 where the slot's key was written again since it last came round in eviction. */
  #referenced = new Uint8Array(TABLE_SLOTS_MIN);
  /** Slots of the live keys in first-write order (or last second chance), a ring starting at #orderHead. */
  #order = new Int32Array(TABLE_SLOTS_MIN);
  #orderHead = 0;
  #size = 0;
  /** Slots not empty: live keys and evicted ones. */
  #used = 0;
  #complete = false;
  #generation = 0;

  constructor(readonly capacity: number) {}

  get complete(): boolean {
    return this.#complete;
  }

  markComplete(): void {
    this.#complete = this.capacity > 0;
  }

  get(key: string): KeyState | undefined {
    const slot = this.#find(key, keyHash(key));
    if (slot < 0) return undefined;
    return { version: this.#values[2 * slot] as number, leafIndex: this.#values[2 * slot + 1] as number };
  }

  /**
   * Where `key` sits (-1: absent), for a caller that will set it again soon: the store looks each
   * key of a batch up once and sets it once, and with the handle the set skips the hashing and
   * the probe (at a million keys each probe is a few cache misses). Valid while `generation`
   * is unchanged.
   */
  lookup(key: string, hash: number): number {
    return this.#find(key, hash);
  }

  /**
   * Bumped whenever slots move (rebuild): handles from before are stale. Eviction only frees a slot,
   * which setFound sees (the slot no longer holds the key), and leaves every "absent" answer true,
   * so it does not bump: with a full cache nearly every batch evicts, and a bump there sent the
   * rest of the batch's keys through a second probe.
   */
  get generation(): number {
    return this.#generation;
  }

  versionAt(slot: number): number {
    return this.#values[2 * slot] as number;
  }

  leafAt(slot: number): number {
    return this.#values[2 * slot + 1] as number;
  }

  /** setState() with what lookup() gave: `slot` (or -1, absent) from `generation`, and the key's hash. */
  setFound(key: string, hash: number, slot: number, generation: number, version: number, leafIndex: number): void {
    if (slot >= 0 && generation === this.#generation && this.#keys[slot] === key) {
      this.#values[2 * slot] = version;
      this.#values[2 * slot + 1] = leafIndex;
      this.#referenced[slot] = 1;
      return;
    }
    this.#setHashed(key, hash, slot < 0 && generation === this.#generation, version, leafIndex);
  }

  set(key: string, state: KeyState): void {
    this.setState(key, state.version, state.leafIndex);
  }

  /** set() without a state object: the store calls it for every key a batch wrote. */
  setState(key: string, version: number, leafIndex: number): void {
    this.#setHashed(key, keyHash(key), false, version, leafIndex);
  }

  /** `absent`: the caller knows the key is not in the table (its lookup at this generation missed). */
  #setHashed(key: string, hash: number, absent: boolean, version: number, leafIndex: number): void {
    if (this.capacity === 0) return;
    let slot = absent ? -1 : this.#find(key, hash);
    if (slot >= 0) {
      this.#referenced[slot] = 1;
    } else {
      if (this.#used + 1 > TABLE_LOAD_MAX * this.#slots) this.#rebuild();
      slot = this.#freeSlot(hash);
      if (this.#hashes[slot] === 0) this.#used += 1;
      this.#hashes[slot] = hash;
      this.#keys[slot] = key;
      this.#referenced[slot] = 0;
      this.#order[(this.#orderHead + this.#size) % this.#slots] = slot;
      this.#size += 1;
    }
    this.#values[2 * slot] = version;
    this.#values[2 * slot + 1] = leafIndex;
    if (this.#size > this.capacity) {
      this.#evictOldest();
      this.#complete = false;
    }
  }

  /** The slot holding `key`, or -1. The table is never full, so a probe meets an empty slot. */
  #find(key: string, hash: number): number {
    const mask = this.#slots - 1;
    let slot = hash & mask;
    for (let probe = 0; probe < this.#slots; probe += 1) {
      const stored = this.#hashes[slot] as number;
      if (stored === 0) return -1;
      if (stored === hash && this.#keys[slot] === key) return slot;
      slot = (slot + 1) & mask;
    }
    return -1;
  }

  /** The first empty or evicted slot on the probe path of `hash` (the key is known absent). */
  #freeSlot(hash: number): number {
    const mask = this.#slots - 1;
    let slot = hash & mask;
    for (let probe = 0; probe < this.#slots; probe += 1) {
      if (this.#hashes[slot] === 0 || this.#keys[slot] === undefined) return slot;
      slot = (slot + 1) & mask;
    }
    throw new RangeError('key cache table full');
  }

  /**
   * Evicts the first key in the ring not written again since it last came round; those that were
   * go to the back with their mark cleared. Bounded: after one full turn every mark is clear.
   */
  #evictOldest(): void {
    for (let turn = 0; turn < this.#size; turn += 1) {
      const slot = this.#order[this.#orderHead] as number;
      if (this.#referenced[slot] === 0) break;
      this.#referenced[slot] = 0;
      this.#order[(this.#orderHead + this.#size) % this.#slots] = slot;
      this.#orderHead = (this.#orderHead + 1) % this.#slots;
    }
    const slot = this.#order[this.#orderHead] as number;
    this.#keys[slot] = undefined;
    this.#orderHead = (this.#orderHead + 1) % this.#slots;
    this.#size -= 1;
  }

  /** Re-inserts the live keys in ring order into a table sized for them: drops evicted slots. */
  #rebuild(): void {
    this.#generation += 1;
    const slots = this.#slots;
    const hashes = this.#hashes;
    const keys = this.#keys;
    const values = this.#values;
    const order = this.#order;
    const referenced = this.#referenced;
    let grown = slots;
    while (this.#size + 1 > (TABLE_LOAD_MAX / 2) * grown) grown *= 2;
    this.#slots = grown;
    this.#hashes = new Int32Array(grown);
    this.#keys = new Array<string | undefined>(grown).fill(undefined);
    this.#values = new Float64Array(2 * grown);
    this.#order = new Int32Array(grown);
    this.#referenced = new Uint8Array(grown);
    const live = this.#size;
    for (let i = 0; i < live; i += 1) {
      const from = order[(this.#orderHead + i) % slots] as number;
      const to = this.#freeSlot(hashes[from] as number);
      this.#hashes[to] = hashes[from] as number;
      this.#keys[to] = keys[from];
      this.#values[2 * to] = values[2 * from] as number;
      this.#values[2 * to + 1] = values[2 * from + 1] as number;
      this.#referenced[to] = referenced[from] as number;
      this.#order[i] = to;
    }
    this.#orderHead = 0;
    this.#used = live;
  }
}
