// The broker is a real 3-node JetStream cluster here, the ledger's stream replicated on all three.
// During checkout the node that leads the stream is killed with SIGKILL and restarted on its
// store once the two nodes left have elected another leader (5-10 s: JetStream's raft election
// timeouts; writes are refused with 503 + Retry-After meanwhile). The gateway, the shards and the
// proof service hold connections to every node and carry on. Afterwards every acknowledged
// transaction must be present and proven, exactly as after a shard crash (smoke.test.ts), and the
// restarted node must catch up. What the test does not cover: losing two nodes (the stream then
// stops taking writes by design: no quorum), or a network partition.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectTransport, streamLayout, type Transport } from '@cairn/transport';
import { CLUSTER_REPLICAS, until } from '@cairn/testkit';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatResult, runScenario } from '../src/index.js';
import { assertClean, loadOptions, startLoadCluster, type LoadCluster } from './cluster.js';

const SHARDS = 2;
const NATS_NODES = 3;
/** How long the restarted node may take to be a current replica again. */
const CATCH_UP_MS_MAX = 30_000;
/**
 * How long the two nodes left may take to elect another stream leader: JetStream's raft election
 * timeouts are 4-9 s, and a client sees ~5-10 s (measured with this cluster).
 */
const FAILOVER_MS_MAX = 20_000;
const KILL_AFTER_MS = 1_500;
/** The node stays down this long after the failover: writes go to the two left. */
const DOWN_AFTER_FAILOVER_MS = 1_500;
/** Long enough to span the kill, the failover and the restart. */
const LOAD_MS = 14_000;

async function streamLeader(transport: Transport): Promise<{ leader: string; current: string[] }> {
  const info = await transport.ensureStream();
  const replicas = info.cluster?.replicas ?? [];
  return { leader: info.cluster?.leader ?? '', current: replicas.filter((r) => r.current).map((r) => r.name) };
}

describe('the ledger through the loss of a NATS node', { timeout: 180_000 }, () => {
  let cluster: LoadCluster;
  let transport: Transport;

  before(async () => {
    cluster = await startLoadCluster(SHARDS, NATS_NODES);
    const nats = cluster.natsCluster;
    assert.ok(nats !== undefined);
    transport = await connectTransport({ servers: nats.url.split(','), layout: streamLayout({ shard_count: SHARDS, replicas: CLUSTER_REPLICAS }), name: 'broker-test' });
  });

  after(async () => {
    await transport?.close();
    await cluster?.stop();
  });

  it('kill -9 the stream leader during checkout, restart it: every acknowledgement holds and the node catches up', async () => {
    const nats = cluster.natsCluster;
    assert.ok(nats !== undefined);
    const before = await streamLeader(transport);
    assert.notEqual(before.leader, '', 'the stream has a leader');
    const victim = nats.node(before.leader);
    // While the node is down the two left must elect a leader of their own (the load goes on).
    let failover: { leader: string; ms: number } | undefined;
    const during = async (signal: AbortSignal): Promise<void> => {
      await sleep(KILL_AFTER_MS, undefined, { signal });
      await victim.kill();
      const killed = Date.now();
      const now = await until('another stream leader', FAILOVER_MS_MAX, async () => {
        const state = await streamLeader(transport).catch(() => undefined);
        return state !== undefined && state.leader !== '' && state.leader !== before.leader ? state : undefined;
      });
      failover = { leader: now.leader, ms: Date.now() - killed };
      await sleep(DOWN_AFTER_FAILOVER_MS);
      await victim.restart();
    };
    const options = loadOptions(cluster, { run_id: 'broker', duration_ms: LOAD_MS });
    const result = await runScenario(options, 'checkout', { during });
    console.log(formatResult(result), `\n  failover    ${JSON.stringify(failover)}`);
    assert.ok(failover !== undefined && victim.pid !== undefined, 'the leader was killed, replaced and restarted during the load');
    assertClean(result, SHARDS, () => cluster.logs());
    for (const proc of [cluster.ingest, cluster.proof, ...cluster.shardProcs]) assert.ok(proc.running, `${proc.name} kept running`);
    const after = await until('every replica current again', CATCH_UP_MS_MAX, async () => {
      const now = await streamLeader(transport);
      return now.current.length === CLUSTER_REPLICAS - 1 ? now : undefined;
    });
    // The old leader lost its place while it was down: it follows the new one now.
    assert.notEqual(after.leader, before.leader);
    assert.ok(after.current.includes(before.leader), JSON.stringify(after));
  });
});
