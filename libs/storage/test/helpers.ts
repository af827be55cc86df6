import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { encodeLeaf, type LeafEntry } from '@cairn/wire';
import { leafHash } from '@cairn/merkle';
import { defaultBinding, openStore, type BatchInput, type KvBinding, type OpenStoreOptions, type Store, type TxInput } from '../src/index.js';

/** Bindings the suite runs against: CAIRN_ROCKSDB_BINDING pins one, else every one this platform has. */
export function bindingsUnderTest(): KvBinding[] {
  const pinned = process.env['CAIRN_ROCKSDB_BINDING'];
  if (pinned === 'nxtedition' || pinned === 'classic') return [pinned];
  return defaultBinding() === 'nxtedition' ? ['nxtedition', 'classic'] : ['classic'];
}

export function tempDir(label: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `cairn-storage-${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Opens a store in a fresh temp dir; close() also removes the dir. */
export async function withStore<T>(
  label: string,
  options: Omit<OpenStoreOptions, 'dir'>,
  body: (store: Store, dir: string) => Promise<T>,
): Promise<T> {
  const { dir, cleanup } = tempDir(label);
  const store = await openStore({ dir, ...options });
  try {
    return await body(store, dir);
  } finally {
    await store.close().catch(() => undefined);
    cleanup();
  }
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const sha256 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(data).digest());
export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export function tx(id: string, records: TxInput['records'], meta = `{"tx":"${id}"}`): TxInput {
  return { id, contentHash: sha256(text(JSON.stringify({ id, records: records.map((r) => [r.key, hex(r.value), r.expect ?? null]), meta }))), meta: text(meta), records };
}

export function put(key: string, value: string, expect?: { version: number } | { absent: true }): TxInput['records'][number] {
  return expect === undefined ? { key, value: text(value) } : { key, value: text(value), expect };
}

/** The RFC 6962 leaf hash a client would compute from the record's fields. */
export function expectedLeafHash(entry: Omit<LeafEntry, 'valueHash' | 'metaHash'>, value: Uint8Array, meta: Uint8Array): Uint8Array {
  return leafHash(encodeLeaf({ ...entry, valueHash: sha256(value), metaHash: sha256(meta) }));
}

/** A small deterministic PRNG (mulberry32): test inputs are reproducible from a seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The batch the crash writer appends at stream sequence `seq`: a pure function of seq, so the test
 * can rebuild the state after any prefix of batches. Sizes vary from 1 to 3,000 records so kills
 * land in small and large commits; every 7th batch is an empty epoch-marker batch.
 */
export function crashBatch(seq: number): BatchInput {
  if (seq % 7 === 0) return { seq, txs: [] };
  const random = prng(seq);
  const records = random() < 0.15 ? 3000 : 1 + Math.floor(random() * 200);
  const txs: TxInput[] = [];
  for (let t = 0, left = records; left > 0; t += 1) {
    const n = Math.min(left, 1 + Math.floor(random() * 50));
    left -= n;
    txs.push(tx(`c${seq}-${t}`, Array.from({ length: n }, (_, r) => put(`key:${Math.floor(random() * 500)}`, `s${seq} t${t} r${r}`))));
  }
  return { seq, txs };
}
