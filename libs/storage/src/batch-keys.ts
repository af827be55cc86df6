import type { KeySlot } from './decide.js';

/**
 * The slots of one batch's keys, found by the key's hash (keyHash, computed once per record when
 * its bytes were copied). A Map<string, KeySlot> hashed every key string again (V8's own hash)
 * and grew per batch; with this table and the hash reuse the calling thread's time per
 * record fell ~10% (docs/design/storage.md, Performance). Open addressing with linear probing
 * in a table at least twice the batch's record count, so a probe always meets an empty slot.
 */
export class BatchKeys {
  readonly #mask: number;
  /** keyHash of the slot's key; 0 marks an empty slot (keyHash is never 0). */
  readonly #hashes: Int32Array;
  readonly #table: (KeySlot | undefined)[];
  /** Every slot in the order its key first appeared in the batch. */
  readonly #inOrder: KeySlot[] = [];
  readonly #capacity: number;

  /** `records`: the batch's record count, the most distinct keys it can hold. */
  constructor(records: number) {
    let size = 16;
    while (size < 2 * records) size *= 2;
    this.#mask = size - 1;
    this.#capacity = records;
    this.#hashes = new Int32Array(size);
    this.#table = new Array<KeySlot | undefined>(size).fill(undefined);
  }

  get size(): number {
    return this.#inOrder.length;
  }

  get(key: string, hash: number): KeySlot | undefined {
    let at = hash & this.#mask;
    for (let probe = 0; probe <= this.#mask; probe += 1) {
      const stored = this.#hashes[at] as number;
      if (stored === 0) return undefined;
      if (stored === hash) {
        const slot = this.#table[at] as KeySlot;
        if (slot.key === key) return slot;
      }
      at = (at + 1) & this.#mask;
    }
    return undefined;
  }

  /** Adds the slot of a key not in the table yet (the caller's get() missed). */
  add(slot: KeySlot): void {
    if (this.#inOrder.length >= this.#capacity) throw new RangeError(`more than ${this.#capacity} keys in a batch table`);
    let at = slot.hash & this.#mask;
    while (this.#hashes[at] !== 0) at = (at + 1) & this.#mask;
    this.#hashes[at] = slot.hash;
    this.#table[at] = slot;
    this.#inOrder.push(slot);
  }

  forEach(visit: (slot: KeySlot) => void): void {
    const slots = this.#inOrder;
    for (let i = 0; i < slots.length; i += 1) visit(slots[i] as KeySlot);
  }
}
