// Back-pressure end to end: with the shards not consuming, admitted transactions wait for their
// commit; once the gateway's bound on waiting transactions is reached, new requests get 503 with
// Retry-After at once (never an unbounded wait). When the shards start, the waiting ones commit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, post, until, verifyReceipt, type HttpAnswer, type Receipt } from './cluster.js';

const WAITERS_MAX = 20;
let cluster: Cluster;

before(async () => {
  cluster = await Cluster.start({
    shards: 2,
    startShards: false,
    ingestEnv: {
      CAIRN_WAITERS_MAX: String(WAITERS_MAX),
      CAIRN_PENDING_TXS_MAX: String(WAITERS_MAX),
      CAIRN_REQUEST_TXS_MAX: String(WAITERS_MAX),
      CAIRN_COMMIT_WAIT_MS_MAX: '20000',
    },
  });
});

after(async () => {
  await cluster?.stop();
});

test('a full gateway answers 503 with Retry-After; the admitted transactions commit once shards run', async () => {
  const admitted: Promise<HttpAnswer>[] = [];
  for (let i = 0; i < WAITERS_MAX; i += 1) admitted.push(post(`${cluster.ingestUrl}/v1/transactions`, { id: `bp-${i}`, records: [{ key: `k${i}`, value: i }] }));
  // Once every waiter slot is taken, the next request is refused at once.
  let refused: HttpAnswer | undefined;
  await until('a 503', 10_000, async () => {
    refused = await post(`${cluster.ingestUrl}/v1/transactions`, { id: 'bp-over', records: [{ key: 'over', value: 0 }] });
    return refused.status === 503;
  });
  assert.equal(refused?.status, 503);
  assert.equal((refused?.body['error'] as { code: string }).code, 'backpressure');
  assert.ok(Number(refused?.retryAfter) >= 1, `Retry-After ${String(refused?.retryAfter)}`);
  await Promise.all(cluster.shardProcs.map((p) => p.start()));
  const answers = await Promise.all(admitted);
  for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
  await verifyReceipt(cluster, answers[0]?.body as unknown as Receipt);
  // The refused transaction was not stored: a retry now commits it as new.
  const retry = await post(`${cluster.ingestUrl}/v1/transactions`, { id: 'bp-over', records: [{ key: 'over', value: 0 }] });
  assert.equal(retry.status, 200);
  assert.notEqual((retry.body as unknown as Receipt).replayed, true);
});
