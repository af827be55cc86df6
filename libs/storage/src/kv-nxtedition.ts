import { createRequire } from 'node:module';
import { asBuffer, plain, type Kv, type KvBatch, type KvEntry, type KvRange } from './kv.js';

// The binding is CommonJS without types: declare only what is used.
interface NxtBatch {
  // The binding reads any Uint8Array (checked): no Buffer wrapper per put on the hot path.
  put(key: Uint8Array, value: Uint8Array): void;
  del(key: Buffer): void;
  write(options: { sync: boolean }): Promise<void>;
  readonly length: number;
}
interface NxtDb {
  open(options: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
  getMany(keys: Buffer[], options: Record<string, unknown>): Promise<(Buffer | undefined)[]>;
  batch(): NxtBatch;
  querySync(options: Record<string, unknown>): { rows: Buffer[]; finished: boolean };
}
type NxtModule = { RocksLevel: new (dir: string, options: Record<string, unknown>) => NxtDb };

const require = createRequire(import.meta.url);
const buffers = { keyEncoding: 'buffer', valueEncoding: 'buffer' } as const;

class NxtBatchAdapter implements KvBatch {
  constructor(readonly native: NxtBatch) {}
  put(key: Uint8Array, value: Uint8Array): void {
    this.native.put(key, value);
  }
  del(key: Uint8Array): void {
    this.native.del(asBuffer(key));
  }
  get length(): number {
    return this.native.length;
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
      const values = await db.getMany(keys.map(asBuffer), buffers);
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
