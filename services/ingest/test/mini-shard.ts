// A minimal stand-in for services/shard, for the ingest's own tests: consumes one shard subject
// through @cairn/transport, decides each transaction the way the storage engine does (idempotency
// by id + content hash, preconditions, versions), and publishes the commit event. Its "root" is a
// running SHA-256 chain, not a Merkle root: the ingest only relays it.
import { createHash } from 'node:crypto';
import { commitSubject, type ConsumedMessage, type ShardConsumer, type Transport } from '@cairn/transport';
import { decodeShardMessage, encodeCommitEvent, type CommitRecord, type DecodedShardMessage, type TxResult } from '@cairn/wire';

interface Committed {
  contentHash: string;
  status: TxResult['status'];
  records: CommitRecord[];
}

export interface MiniShard {
  readonly shard: number;
  // Every decoded message, in stream order, with its sequence.
  readonly received: { seq: number; message: DecodedShardMessage; msgId: string | undefined }[];
  stop(): Promise<void>;
}

export async function startMiniShard(transport: Transport, shard: number, durable = `mini-${shard}`): Promise<MiniShard> {
  const versions = new Map<string, number>();
  const txs = new Map<string, Committed>();
  let size = 0;
  let root: Uint8Array = new Uint8Array(32);
  const received: MiniShard['received'] = [];

  const apply = (m: ConsumedMessage): void => {
    const message = decodeShardMessage(m.data);
    received.push({ seq: m.seq, message, msgId: m.headers['Nats-Msg-Id'] });
    const results: TxResult[] = [];
    for (const part of message.txs) {
      const hash = Buffer.from(part.contentHash).toString('hex');
      const before = txs.get(part.id);
      if (before !== undefined) {
        const same = before.contentHash === hash;
        // A retry of a failed tx repeats its failure; of a committed one, its original records.
        const status = !same ? 'id_conflict' : before.status === 'committed' ? 'duplicate' : before.status;
        results.push({ id: part.id, status, records: status === 'duplicate' ? before.records : [] });
        continue;
      }
      const failed = part.records.some((r) => {
        const v = versions.get(r.key) ?? 0;
        if (r.expect === undefined) return false;
        return 'absent' in r.expect ? v !== 0 : v !== r.expect.version;
      });
      if (failed) {
        txs.set(part.id, { contentHash: hash, status: 'precondition_failed', records: [] });
        results.push({ id: part.id, status: 'precondition_failed', records: [] });
        continue;
      }
      const records: CommitRecord[] = part.records.map((r) => {
        const version = (versions.get(r.key) ?? 0) + 1;
        versions.set(r.key, version);
        const leafIndex = size;
        size += 1;
        root = createHash('sha256').update(root).update(r.keyBytes).update(r.value).digest();
        return { key: r.key, version, leafIndex };
      });
      txs.set(part.id, { contentHash: hash, status: 'committed', records });
      results.push({ id: part.id, status: 'committed', records });
    }
    transport.publishEvent(commitSubject(transport.layout, shard), encodeCommitEvent({ seq: m.seq, shard, size, root, txs: results }));
  };

  const consumer: ShardConsumer = await transport.consume({ shard, durable }, async (msgs) => {
    for (const m of msgs) apply(m);
  });
  return { shard, received, stop: () => consumer.stop() };
}
