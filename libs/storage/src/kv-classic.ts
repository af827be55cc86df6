import { writeU64 } from './bytes.js';
import { createRequire } from 'node:module';
import { asBuffer, plain, type Kv, type KvBatch, type KvEntry, type KvRange } from './kv.js';

// rocksdb 5.2.1 (abstract-leveldown 7, callback API, no types): declare only what is used.
type Callback<T = void> = (error: Error | null | undefined, value?: T) => void;
interface ClassicBatch {
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
  write(options: { sync: boolean }, callback: Callback): void;
  readonly length: number;
}
interface ClassicIterator {
  next(callback: (error: Error | null | undefined, key?: Buffer, value?: Buffer) => void): void;
  end(callback: Callback): void;
}
interface ClassicDb {
  open(options: Record<string, unknown>, callback: Callback): void;
  close(callback: Callback): void;
  getMany(keys: Buffer[], options: Record<string, unknown>, callback: Callback<(Buffer | undefined)[]>): void;
  batch(): ClassicBatch;
  iterator(options: Record<string, unknown>): ClassicIterator;
}

const require = createRequire(import.meta.url);

function call<T = void>(fn: (callback: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value as T))));
}

class ClassicBatchAdapter implements KvBatch {
  #length = 0;
  constructor(readonly native: ClassicBatch) {}
  put(key: Uint8Array, value: Uint8Array): void {
    this.native.put(asBuffer(key), asBuffer(value));
    this.#length += 1;
  }
  putKeyVersion(prefix: Uint8Array, version: number, leafIndex: number): void {
    const entry = Buffer.allocUnsafe(prefix.length + 16);
    entry.set(prefix);
    writeU64(entry, prefix.length, version);
    writeU64(entry, prefix.length + 8, leafIndex);
    this.put(entry.subarray(0, prefix.length + 8), entry.subarray(prefix.length + 8));
  }
  del(key: Uint8Array): void {
    this.native.del(asBuffer(key));
    this.#length += 1;
  }
  get length(): number {
    return this.#length;
  }
}

async function readRange(db: ClassicDb, range: KvRange): Promise<KvEntry[]> {
  const options: Record<string, unknown> = { limit: range.limit, keyAsBuffer: true, valueAsBuffer: true };
  if (range.gte !== undefined) options['gte'] = asBuffer(range.gte);
  if (range.lt !== undefined) options['lt'] = asBuffer(range.lt);
  if (range.lte !== undefined) options['lte'] = asBuffer(range.lte);
  if (range.reverse === true) options['reverse'] = true;
  const iterator = db.iterator(options);
  const entries: KvEntry[] = [];
  try {
    // Bounded by range.limit, which the iterator enforces and the loop re-checks.
    while (entries.length < range.limit) {
      const entry = await new Promise<KvEntry | undefined>((resolve, reject) =>
        iterator.next((error, key, value) => {
          if (error) reject(error);
          else resolve(key === undefined || value === undefined ? undefined : [plain(key), plain(value)]);
        }),
      );
      if (entry === undefined) break;
      entries.push(entry);
    }
  } finally {
    await call((cb) => iterator.end(cb));
  }
  return entries;
}

export async function openClassicKv(dir: string): Promise<Kv> {
  const factory = require('rocksdb') as (location: string) => ClassicDb;
  const db = factory(dir);
  await call((cb) => db.open({ createIfMissing: true, errorIfExists: false }, cb));
  return {
    binding: 'classic',
    async get(key) {
      const [value] = await call<(Buffer | undefined)[]>((cb) => db.getMany([asBuffer(key)], { asBuffer: true }, cb));
      return value === undefined || value === null ? undefined : plain(value);
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      const values = await call<(Buffer | undefined)[]>((cb) => db.getMany(keys.map(asBuffer), { asBuffer: true }, cb));
      return values.map((v) => (v === undefined || v === null ? undefined : plain(v)));
    },
    range: (range) => readRange(db, range),
    async lastInRanges(ranges) {
      const entries: (KvEntry | undefined)[] = [];
      for (const { gte, lt } of ranges) entries.push((await readRange(db, { gte, lt, reverse: true, limit: 1 }))[0]);
      return entries;
    },
    batch: () => new ClassicBatchAdapter(db.batch()),
    // Each write is its own libuv job: two issued together may land in either order.
    orderedWrites: false,
    async write(batch, options) {
      const native = (batch as ClassicBatchAdapter).native;
      await call((cb) => native.write({ sync: options.sync }, cb));
    },
    close: () => call((cb) => db.close(cb)),
  };
}
