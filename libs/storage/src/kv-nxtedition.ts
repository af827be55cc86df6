import { createRequire } from 'node:module';
import { asBuffer, plain, type Kv, type KvBatch, type KvEntry, type KvRange } from './kv.js';

// The binding is CommonJS without types: declare only what is used.
interface NxtBatch {
  // The binding reads any Uint8Array (checked): no Buffer wrapper per put on the hot path.
  put(key: Uint8Array, value: Uint8Array): void;
  /**
   * The binding's own put under abstract-level's wrapper (argument checks, encodings): about a
   * fifth of the JavaScript cost of a put. A private name of @nxtedition/rocksdb 12, so it is
   * looked up once and the public put is the fallback.
   */
  _put?: (key: Uint8Array, value: Uint8Array, options: object) => void;
  del(key: Buffer): void;
  write(options: { sync: boolean }): Promise<void>;
  readonly length: number;
}
interface NxtDb {
  open(options: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
  getMany(keys: Buffer[], options: Record<string, unknown>): Promise<(Buffer | undefined)[]>;
  /** Private in v12 like _put; reads on the calling thread, skipping the thread-pool hop. */
  _getManySync?: (keys: Uint8Array[], options: Record<string, unknown>) => (Buffer | undefined | null)[];
  batch(): NxtBatch;
  querySync(options: Record<string, unknown>): { rows: Buffer[]; finished: boolean };
}
type NxtModule = { RocksLevel: new (dir: string, options: Record<string, unknown>) => NxtDb };

const require = createRequire(import.meta.url);
const buffers = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;

const NO_OPTIONS = {};

class NxtBatchAdapter implements KvBatch {
  readonly #rawPut: ((key: Uint8Array, value: Uint8Array, options: object) => void) | undefined;
  #length = 0;

  constructor(readonly native: NxtBatch) {
    this.#rawPut = typeof native._put === 'function' ? native._put.bind(native) : undefined;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    if (key.length === 0) throw new RangeError('empty RocksDB key');
    if (this.#rawPut !== undefined) this.#rawPut(key, value, NO_OPTIONS);
    else this.native.put(key, value);
    this.#length += 1;
  }
  del(key: Uint8Array): void {
    this.native.del(asBuffer(key));
    this.#length += 1;
  }
  get length(): number {
    return this.#length;
  }
}

export async function openNxteditionKv(dir: string): Promise<Kv> {
  const { RocksLevel } = require('@nxtedition/rocksdb') as NxtModule;
  const db = new RocksLevel(dir, buffers);
  await db.open({ createIfMissing: true, errorIfExists: false });
  return {
    binding: 'nxtedition',
    async get(key) {
      const [value] = await db.getMany([asBuffer(key)], buffers);
      return value === undefined || value === null ? undefined : plain(value);
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      // Point reads of a batch's ids hit the memtable or block cache: a synchronous read costs
      // less than handing them to libuv's pool and waiting for a thread on a busy machine.
      const values =
        typeof db._getManySync === 'function' ? db._getManySync(keys.map(asBuffer), buffers) : await db.getMany(keys.map(asBuffer), buffers);
      return values.map((v) => (v === undefined || v === null ? undefined : plain(v)));
    },
    async range(range: KvRange) {
      const options: Record<string, unknown> = { ...buffers, keys: true, values: true, limit: range.limit };
      if (range.gte !== undefined) options['gte'] = asBuffer(range.gte);
      if (range.lt !== undefined) options['lt'] = asBuffer(range.lt);
      if (range.lte !== undefined) options['lte'] = asBuffer(range.lte);
      if (range.reverse === true) options['reverse'] = true;
      const { rows } = db.querySync(options);
      const entries: KvEntry[] = [];
      for (let i = 0; i + 1 < rows.length; i += 2) entries.push([plain(rows[i] as Buffer), plain(rows[i + 1] as Buffer)]);
      return entries;
    },
    batch: () => new NxtBatchAdapter(db.batch()),
    async write(batch, options) {
      await (batch as NxtBatchAdapter).native.write({ sync: options.sync });
    },
    close: () => db.close(),
  };
}
