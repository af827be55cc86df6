// npm run bench (in libs/storage): records/s committed on disk for batches of 1, 100, 1,000 and
// 10,000 records, beside raw SHA-256 throughput measured in the same run, then three rows that
// repeat a size under other conditions (all hashing inline; keys beyond the key cache; a long
// run past the default key cache and through RocksDB compactions). Not a test: it prints.
// CAIRN_BENCH_SCALE (default 1) scales the records per size, CAIRN_BENCH_SIZES=1000,10000 picks
// batch sizes, CAIRN_ROCKSDB_BINDING picks the binding, CAIRN_BENCH_MAIN_HASH_SHARE_PCT sets
// main_hash_share_pct, CAIRN_BENCH_INFLIGHT (default 2, as the shard worker keeps them) is how many
// appends the bench keeps issued before awaiting the oldest (1: each append is awaited before the
// next). CAIRN_NATIVE_HASH=0 runs without the native hashing addon; CAIRN_BENCH_READS=0 skips the
// read figures printed after the rows.
import { createHash, hash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeShardMessage, encodeLeaf, encodeShardMessage, type PartRecord, type TxPart } from '@cairn/wire';
import { openStore, type BatchInput, type TxInput } from '../src/index.js';
import { hashRecords } from '../src/hash-task.js';
import { prepareBatch } from '../src/input.js';
import { resolveLimits } from '../src/limits.js';
import { nativeHashStatus } from '../src/native-hash.js';
import { packBatch, PackBuffer } from '../src/pack.js';

const SCALE = Number(process.env['CAIRN_BENCH_SCALE'] ?? 1);
/** Batch size -> records committed in the timed run (bounded memory and time). */
const PLAN: readonly [batchRecords: number, totalRecords: number][] = [
  [1, 2_000],
  [100, 100_000],
  [1_000, 300_000],
  [10_000, 300_000],
];
const RECORDS_PER_TX = 10;
/** Records whose inputs exist at once; each round is timed separately and summed. */
const ROUND_RECORDS = 20_000;
const HOT_KEYS = 10_000;
/** Key cache of the cold-keys row: far fewer entries than the keys it writes. */
const COLD_CACHE_KEYS = 10_000;
/** Records of the long-run row: twice the default key_cache_entries_max. */
const LONG_RUN_RECORDS = 2_000_000;
const INFLIGHT = Number(process.env['CAIRN_BENCH_INFLIGHT'] ?? 2);
const encoder = new TextEncoder();

function value(n: number): Uint8Array {
  // About 100 bytes of JSON, like a small order or stock record.
  return encoder.encode(JSON.stringify({ sku: `sku-${n % 997}`, qty: n % 13, price: 1999 + (n % 100), note: 'x'.repeat(40) }));
}

/**
 * Batches as services/shard hands them to append(): each batch's transactions are encoded as a
 * shard message and decoded again (outside the timed part), so values, content hashes and meta are
 * views into one message buffer and keys are the decoder's flat strings. Before 2026-11-27 06:30
 * each value and content hash was its own ArrayBuffer and each key a concatenated string, which
 * made the collector sweep ~1,100 array buffers per 1,000 records that no shard allocates.
 */
function makeBatches(batchRecords: number, totalRecords: number, seqStart: number, keyStart: number): BatchInput[] {
  const batches: BatchInput[] = [];
  let n = keyStart;
  const meta = encoder.encode('{"source":"bench","shop":"shop42"}');
  for (let b = 0; b * batchRecords < totalRecords; b += 1) {
    const parts: TxPart[] = [];
    for (let left = batchRecords; left > 0; ) {
      const size = Math.min(RECORDS_PER_TX, left);
      left -= size;
      const records: PartRecord[] = [];
      for (let r = 0; r < size; r += 1, n += 1) {
        // One write in five updates a hot key; the rest create keys (orders, payments).
        const key = n % 5 === 0 ? `{shop42}:stock:${Math.floor(n / 5) % HOT_KEYS}` : `{shop42}:order:${n}`;
        records.push({ key, value: value(n), expect: undefined });
      }
      const contentHash = new Uint8Array(hash('sha256', `tx-${n}`, 'buffer'));
      parts.push({ id: `tx-${n}`, contentHash, meta, shards: [0], records });
    }
    const decoded = decodeShardMessage(encodeShardMessage({ shard: 0, txs: parts }));
    const txs: TxInput[] = decoded.txs.map((part) => ({
      id: part.id,
      contentHash: part.contentHash,
      meta: part.meta,
      records: part.records.map((r) => ({ key: r.key, value: r.value })),
    }));
    batches.push({ seq: seqStart + b, txs });
  }
  return batches;
}

/**
 * ns per node crypto.hash call (or createHash().update().digest()) on inputs of this size: the
 * fastest of several short runs, since other processes only ever slow a run down (so the limit is
 * never understated). Each API gets its own loop so the baseline's calls stay direct.
 */
function hashCost(size: number, runs: number, runMs: number, api: 'hash' | 'createHash' = 'hash'): number {
  const input = new Uint8Array(size).fill(7);
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < runs; run += 1) {
    let calls = 0;
    const started = process.hrtime.bigint();
    const deadline = started + BigInt(runMs * 1e6);
    while (process.hrtime.bigint() < deadline) {
      if (api === 'hash') for (let i = 0; i < 1000; i += 1) hash('sha256', input, 'buffer');
      else for (let i = 0; i < 1000; i += 1) createHash('sha256').update(input).digest();
      calls += 1000;
    }
    best = Math.min(best, Number(process.hrtime.bigint() - started) / calls);
  }
  return best;
}

/**
 * Records/s the store's own batch hashing reaches (value, meta and leaf hashes of one packed
 * 1,000-record batch, as append hashes them): the native addon when loaded, else node:crypto.
 */
function batchHashingRate(runMs: number): number {
  const [batch] = makeBatches(1_000, 1_000, 1, 777);
  const txs = prepareBatch(batch as BatchInput, resolveLimits());
  const committed = txs.map((tx) => ({ tx }));
  const accepted = txs.flatMap((tx, t) =>
    tx.records.map((record, i) => {
      record.version = 1;
      record.leafIndex = i;
      record.txOrdinal = t;
      return record;
    }),
  );
  const packed = packBatch(accepted, committed, 0, new PackBuffer(false));
  let records = 0;
  const started = performance.now();
  while (performance.now() - started < runMs) records += hashRecords({ ...packed, begin: 0, end: packed.count });
  return (records / (performance.now() - started)) * 1000;
}

/**
 * Two minor collections after a round's inputs are made (outside the timed part) move them out of
 * the young generation. Otherwise the first scavenges inside the timed part copy the round's
 * 20,000 records of inputs twice: ~0.3 us of the calling thread per record (measured with and
 * without), a cost of the harness, since a shard decodes each message just before its append and
 * holds only the batches in flight. Needs node --expose-gc (npm run bench passes it).
 */
function settleInputs(): void {
  const gc = (globalThis as { gc?: (options: { type: 'minor' }) => void }).gc;
  gc?.({ type: 'minor' });
  gc?.({ type: 'minor' });
}

/** CPU time of the calling thread in microseconds (Linux, from /proc), or NaN elsewhere. */
function mainThreadCpuMicros(): number {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

interface Run {
  readonly batchRecords: number;
  readonly totalRecords: number;
  readonly pool: boolean;
  /** key_cache_entries_max for the run, when not the default. */
  readonly keyCache?: number;
  /** What sets the row apart, printed after it. */
  readonly note?: string;
}

async function benchSize({ batchRecords, totalRecords, pool, keyCache }: Run): Promise<Record<string, string | number>> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-storage-bench-'));
  const share = process.env['CAIRN_BENCH_MAIN_HASH_SHARE_PCT'];
  const limits = {
    ...(share === undefined ? {} : { main_hash_share_pct: Number(share) }),
    ...(keyCache === undefined ? {} : { key_cache_entries_max: keyCache }),
  };
  const store = await openStore(pool ? { dir, limits } : { dir, pool: false, limits });
  if (!Number.isSafeInteger(INFLIGHT) || INFLIGHT < 1 || INFLIGHT > store.limits.append_queue_max) {
    throw new RangeError(`CAIRN_BENCH_INFLIGHT must be in [1, ${store.limits.append_queue_max}]`);
  }
  try {
    const warm = makeBatches(batchRecords, Math.min(totalRecords, batchRecords * 5), 1, 0);
    for (const batch of warm) await store.append(batch);
    const before = store.metrics();
    let elapsedMs = 0;
    let cpuMicros = 0;
    let mainMicros = 0;
    // Inputs are made in rounds outside the timed part: made all at once, hundreds of thousands of
    // live input objects made the collector's work part of the figure.
    const total = totalRecords * SCALE;
    const perRound = Math.max(batchRecords, ROUND_RECORDS);
    for (let done = 0, seq = warm.length + 1; done < total; done += perRound) {
      const batches = makeBatches(batchRecords, Math.min(perRound, total - done), seq, 10_000_000 + done);
      seq += batches.length;
      settleInputs();
      const cpuBefore = process.cpuUsage();
      const mainBefore = mainThreadCpuMicros();
      const started = performance.now();
      const window: Promise<unknown>[] = [];
      for (const batch of batches) {
        window.push(store.append(batch));
        if (window.length >= INFLIGHT) await window.shift();
      }
      await Promise.all(window);
      elapsedMs += performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      cpuMicros += cpu.user + cpu.system;
      mainMicros += mainThreadCpuMicros() - mainBefore;
    }
    const after = store.metrics();
    const records = after.records - before.records;
    const phase = (name: 'decideMs' | 'packMs' | 'hashMs' | 'treeMs' | 'writeMs'): number => after[name] - before[name];
    return {
      batchRecords,
      records,
      recordsPerSecond: Math.round((records / elapsedMs) * 1000),
      hashShare: (phase('hashMs') + phase('treeMs')) / elapsedMs,
      decide: phase('decideMs') / elapsedMs,
      pack: phase('packMs') / elapsedMs,
      hashWait: phase('hashMs') / elapsedMs,
      tree: phase('treeMs') / elapsedMs,
      write: phase('writeMs') / elapsedMs,
      binding: store.binding,
      cpuUsPerRecord: cpuMicros / records,
      mainUsPerRecord: mainMicros / records,
      mode: pool && batchRecords > store.limits.inline_records_max ? 'pool' : 'inline',
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Versions of the one key the read bench writes (one record in ten). */
const READ_KEY_VERSIONS = 10_000;
/** latest() and headAt() calls timed by the read bench. */
const READ_CALLS = 20_000;

/**
 * Reads on a 100,000-leaf store where one key has READ_KEY_VERSIONS versions: latest() of random
 * keys, history() of that key, and transaction(), beside headAt() (one RocksDB point read and a
 * decode) measured in the same run.
 */
async function benchReads(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-storage-bench-reads-'));
  const store = await openStore({ dir, pool: false });
  try {
    const meta = encoder.encode('{"source":"bench"}');
    const perBatch = 1_000;
    for (let b = 0; b * perBatch < READ_KEY_VERSIONS * 10; b += 1) {
      const txs: TxInput[] = Array.from({ length: perBatch / 10 }, (_, t) => {
        const id = `read-${b}-${t}`;
        const records = Array.from({ length: 10 }, (_, r) => ({ key: r === 0 ? 'read:hot' : `read:${b}:${t}:${r}`, value: value(r) }));
        return { id, contentHash: new Uint8Array(hash('sha256', id, 'buffer')), meta, records };
      });
      await store.append({ seq: b + 1, txs });
    }
    const seqs = store.head().seq;
    const perCall = async (calls: number, call: (i: number) => Promise<unknown>): Promise<number> => {
      const started = performance.now();
      for (let i = 0; i < calls; i += 1) await call(i);
      return ((performance.now() - started) * 1000) / calls;
    };
    const headUs = await perCall(READ_CALLS, (i) => store.headAt(1 + (i % seqs)));
    const latestUs = await perCall(READ_CALLS, (i) => store.latest(`read:${(i * 7) % seqs}:${i % 100}:${1 + (i % 9)}`));
    const txUs = await perCall(READ_CALLS / 10, (i) => store.transaction(`read-${(i * 7) % seqs}-${i % 100}`));
    const historyMs = (await perCall(3, () => store.history('read:hot'))) / 1000;
    console.log('');
    console.log(`reads (100,000 leaves): headAt (one point read) ${headUs.toFixed(1)} us; latest ${latestUs.toFixed(1)} us = ${(latestUs / headUs).toFixed(1)}x headAt;`);
    console.log(`  transaction (10 leaves) ${txUs.toFixed(1)} us = ${(txUs / headUs).toFixed(1)}x; history of ${READ_KEY_VERSIONS.toLocaleString('en')} versions ${historyMs.toFixed(1)} ms = ${((historyMs * 1000) / READ_KEY_VERSIONS / headUs).toFixed(2)}x headAt per version`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sample = makeBatches(1, 1, 1, 12_345)[0]!.txs[0]!;
  const leafBytes = encodeLeaf({
    txId: sample.id,
    key: sample.records[0]!.key,
    version: 1,
    valueHash: new Uint8Array(32),
    metaHash: new Uint8Array(32),
  }).length;
  const valueBytes = sample.records[0]!.value.length;
  const valueNs = hashCost(valueBytes, 10, 50);
  const leafNs = hashCost(1 + leafBytes, 10, 50);
  const limit = 1e9 / (valueNs + leafNs);
  // The machine's speed drifts during a run (shared host): each row is held to the faster of the
  // limits measured just before and just after it, never to a slower moment's.
  const limitNow = (): number => 1e9 / (hashCost(valueBytes, 5, 40) + hashCost(1 + leafBytes, 5, 40));
  let limitBefore = limit;
  const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
  console.log(`cpu: ${cpus()[0]?.model ?? '?'} x${cpus().length}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (shared machine)`);
  console.log(`baseline (best of 10 runs): node crypto.hash sha256 ${valueBytes} B value ${valueNs.toFixed(0)} ns/call, ${1 + leafBytes} B leaf ${leafNs.toFixed(0)} ns/call`);
  console.log(`single-core hashing limit (value + leaf hash per record, one node:crypto call each): ${Math.round(limit).toLocaleString('en')} records/s`);
  const classic = 1e9 / (hashCost(valueBytes, 10, 50, 'createHash') + hashCost(1 + leafBytes, 10, 50, 'createHash'));
  console.log(`  for reference, the same limit with createHash().update().digest(): ${Math.round(classic).toLocaleString('en')} records/s (not used for the ratios)`);
  const batchRate = batchHashingRate(300);
  console.log(
    `the store's batch hashing (native addon: ${nativeHashStatus}): ${Math.round(batchRate).toLocaleString('en')} records/s on one core = ${(batchRate / limit).toFixed(1)}x the limit above`,
  );
  console.log('');
  console.log('batch    records/s   of limit (limit/s)  hashing  | decide  pack  hash-wait  tree  write | cpu us/rec  main us/rec  hashing  binding');
  const only = process.env['CAIRN_BENCH_SIZES']?.split(',').map(Number);
  // The 10,000 row is repeated with every hash on the main thread (what the pool buys on this
  // machine). The 1,000 row is repeated with a key cache of COLD_CACHE_KEYS (a store whose keys
  // outnumber its cache, as any long-lived shard's do, looks every new key up in RocksDB), and as
  // a long run of LONG_RUN_RECORDS: past the default key cache, through several memtable flushes
  // and compactions, which a fresh store's first 300,000 records never pay.
  const runs: Run[] = [
    ...PLAN.map(([batchRecords, totalRecords]): Run => ({ batchRecords, totalRecords, pool: true })),
    { batchRecords: 10_000, totalRecords: 300_000, pool: false, note: 'every hash on the calling thread' },
    {
      batchRecords: 1_000,
      totalRecords: 300_000,
      pool: true,
      keyCache: COLD_CACHE_KEYS,
      note: `keys beyond a ${COLD_CACHE_KEYS.toLocaleString('en')}-entry key cache`,
    },
    { batchRecords: 1_000, totalRecords: LONG_RUN_RECORDS, pool: true, note: `long run: ${LONG_RUN_RECORDS.toLocaleString('en')} records` },
  ];
  for (const run of runs) {
    if (only !== undefined && !only.includes(run.batchRecords)) continue;
    const r = await benchSize(run);
    const limitAfter = limitNow();
    const rowLimit = Math.max(limitBefore, limitAfter);
    limitBefore = limitAfter;
    const rate = r['recordsPerSecond'] as number;
    console.log(
      [
        String(run.batchRecords).padStart(6),
        rate.toLocaleString('en').padStart(11),
        pct(rate / rowLimit).padStart(9),
        `(${Math.round(rowLimit / 1000)}k)`.padStart(10),
        pct(r['hashShare'] as number).padStart(8),
        ' |',
        pct(r['decide'] as number).padStart(6),
        pct(r['pack'] as number).padStart(5),
        pct(r['hashWait'] as number).padStart(10),
        pct(r['tree'] as number).padStart(5),
        pct(r['write'] as number).padStart(6),
        ' |',
        (r['cpuUsPerRecord'] as number).toFixed(1).padStart(10),
        (r['mainUsPerRecord'] as number).toFixed(1).padStart(12),
        String(r['mode']).padStart(8),
        ` ${String(r['binding'])}`,
        run.note === undefined ? '' : ` (${run.note})`,
      ].join(' '),
    );
  }
  if (process.env['CAIRN_BENCH_READS'] !== '0') await benchReads();
  console.log('');
  console.log(`records per transaction: ${RECORDS_PER_TX}; 1 in 5 writes updates one of ${HOT_KEYS} hot keys; values ${valueBytes} B.`);
  console.log(`appends in flight: ${INFLIGHT} (CAIRN_BENCH_INFLIGHT).`);
  const settled = typeof (globalThis as { gc?: unknown }).gc === 'function';
  console.log(`each round's inputs moved out of the young generation before timing: ${settled ? 'yes' : 'no (run node with --expose-gc)'}.`);
  console.log('of limit = records/s over the faster of the limits measured just before and just after the row.');
  console.log('hashing = leaf hashing the main thread waited for (pool or inline) + tree node hashing and tiles.');
  console.log('cpu us/rec = process CPU time (all threads) per committed record; main us/rec = the calling thread only.');
}

await main();
