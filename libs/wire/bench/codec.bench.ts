// Throughput of the ingest <-> shard codecs and of transaction validation, each beside a baseline
// measured in the same run (JSON round trip of the same content; one SHA-256 call).
//   npm run bench -w @cairn/wire
import { createHash } from 'node:crypto';
import {
  decodeCommitEvent,
  decodeShardMessage,
  encodeCommitEvent,
  encodeShardMessage,
  txLimitsDefault,
  validateTransaction,
  type CommitEvent,
  type ShardMessage,
  type Sha256,
} from '../src/index.js';

const TXS_PER_MESSAGE = 1_000;
const RUN_MS = 1_000;
const utf8 = new TextEncoder();
const sha256: Sha256 = (d) => new Uint8Array(createHash('sha256').update(d).digest());

// Calls f repeatedly for about RUN_MS (bounded by count too) and returns calls per second.
function rate(f: () => unknown): number {
  f();
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < RUN_MS && calls < 10_000_000) {
    f();
    calls += 1;
  }
  return calls / ((performance.now() - start) / 1000);
}

const message: ShardMessage = {
  shard: 0,
  txs: Array.from({ length: TXS_PER_MESSAGE }, (_, i) => ({
    id: `order-${i}-7f3a`,
    contentHash: new Uint8Array(32).fill(i % 256),
    meta: utf8.encode('{"by":"checkout"}'),
    shards: [0],
    records: [{ key: `{shop${i}}:order:${i}`, value: utf8.encode('{"currency":"EUR","total":4999}'), expect: undefined }],
  })),
};
const event: CommitEvent = {
  seq: 1_234,
  shard: 0,
  size: 50_000,
  root: new Uint8Array(32),
  txs: message.txs.map((t, i) => ({ id: t.id, status: 'committed', records: [{ key: t.records[0]?.key ?? '', version: 1, leafIndex: i }] })),
};
const messageBytes = encodeShardMessage(message);
const eventBytes = encodeCommitEvent(event);
const asJson = JSON.stringify(message.txs.map((t) => ({ id: t.id, records: t.records.map((r) => ({ key: r.key, value: { currency: 'EUR', total: 4999 } })) })));

const jsonTx = rate(() => JSON.parse(asJson)) * TXS_PER_MESSAGE;
const row = (name: string, txPerSecond: number, baseline: number, baselineName: string): void => {
  console.log(`${name.padEnd(40)} ${(txPerSecond / 1e6).toFixed(2).padStart(6)} M tx/s   x${(txPerSecond / baseline).toFixed(2)} of ${baselineName}`);
};
console.log(`${TXS_PER_MESSAGE} one-record transactions per message; baseline JSON.parse of the same transactions: ${(jsonTx / 1e6).toFixed(2)} M tx/s`);
row('encodeShardMessage', rate(() => encodeShardMessage(message)) * TXS_PER_MESSAGE, jsonTx, 'JSON.parse');
row('decodeShardMessage', rate(() => decodeShardMessage(messageBytes)) * TXS_PER_MESSAGE, jsonTx, 'JSON.parse');
row('encodeCommitEvent', rate(() => encodeCommitEvent(event)) * TXS_PER_MESSAGE, jsonTx, 'JSON.parse');
row('decodeCommitEvent', rate(() => decodeCommitEvent(eventBytes)) * TXS_PER_MESSAGE, jsonTx, 'JSON.parse');

const tx = { id: 'order-1', records: [{ key: '{shop42}:order:1', value: { total: 4999, currency: 'EUR' } }], meta: { by: 'checkout' } };
const hashInput = new Uint8Array(100);
const oneHash = rate(() => sha256(hashInput));
row('validateTransaction (1 record, 2 hashes)', rate(() => validateTransaction(tx, { limits: txLimitsDefault, shardCount: 16, sha256 })), oneHash, 'one SHA-256 (100 B)');
