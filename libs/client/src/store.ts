// Where a client keeps the last checkpoint it verified. Only the signed note is stored: on load it is
// verified again with the pinned key, so whoever can write the store still cannot make the client
// trust a state the cluster never signed (at worst they can make it forget, i.e. trust less).

export interface StateStore {
  /** The last saved signed note, or undefined when nothing was saved. */
  load(): Promise<string | undefined>;
  save(note: string): Promise<void>;
}

export class MemoryStateStore implements StateStore {
  #note: string | undefined;

  constructor(note?: string) {
    this.#note = note;
  }

  load(): Promise<string | undefined> {
    return Promise.resolve(this.#note);
  }

  save(note: string): Promise<void> {
    this.#note = note;
    return Promise.resolve();
  }
}

/** The part of the Web Storage API this store uses (window.localStorage satisfies it). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export const LOCAL_STORAGE_KEY_PREFIX = 'cairn/checkpoint/';

export class LocalStorageStateStore implements StateStore {
  readonly #storage: StorageLike;
  readonly #key: string;

  /** One entry per cluster: the key is LOCAL_STORAGE_KEY_PREFIX + origin unless given. */
  constructor(storage: StorageLike, origin: string, key?: string) {
    this.#storage = storage;
    this.#key = key ?? LOCAL_STORAGE_KEY_PREFIX + origin;
  }

  load(): Promise<string | undefined> {
    return Promise.resolve(this.#storage.getItem(this.#key) ?? undefined);
  }

  save(note: string): Promise<void> {
    this.#storage.setItem(this.#key, note);
    return Promise.resolve();
  }
}
