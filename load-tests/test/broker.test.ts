// The broker is a real 3-node JetStream cluster here, the ledger's stream replicated on all three,
// and it asks every client for a token over TLS (the services read them from CAIRN_NATS_TOKEN_FILE
// and CAIRN_NATS_CA_FILE), as a deployment would run it.
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
import { CLUSTER_REPLICAS, selfSignedCert, tempDir, until, type TempDir } from '@cairn/testkit';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkRun, formatResult, RecordingStore, runScenario, verifyingClient, type ScenarioResult } from '../src/index.js';
import { assertClean, loadOptions, startLoadCluster, type LoadCluster } from './cluster.js';

const SHARDS = 2;
const NATS_NODES = 3;
const NATS_TOKEN = 'broker-test-token-7f3a9c';
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

/** Writes sent while two of the three nodes are down, each bounded by the gateway's own waits. */
const NO_QUORUM_WRITES = 4;
const WRITE_MS_MAX = 30_000;
/** Time for the gateway to reconnect to the node left, so that writes meet the missing quorum itself. */
const RECONNECT_MS = 3_000;
/** How long a resend may keep meeting 503 / 504 (each time after Retry-After) once the nodes are back. */
const SETTLE_MS_MAX = 60_000;

async function postTx(ingestUrl: string, id: string, key: string): Promise<{ status: number; code: string | undefined; message: string | undefined }> {
  const res = await fetch(`${ingestUrl}/v1/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, records: [{ key, value: { id } }] }),
    signal: AbortSignal.timeout(WRITE_MS_MAX),
  });
  const body = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, code: body.error?.code, message: body.error?.message };
}

/** Resends until an answer decides (not 503 / 504), as a client told to retry with the same id does. */
async function settle(ingestUrl: string, id: string, key: string): Promise<Awaited<ReturnType<typeof postTx>> & { tries: number }> {
  const deadline = Date.now() + SETTLE_MS_MAX;
  for (let tries = 1; ; tries += 1) {
    const answer = await postTx(ingestUrl, id, key);
    if ((answer.status !== 503 && answer.status !== 504) || Date.now() > deadline) return { ...answer, tries };
    await sleep(1_000);
  }
}

describe('the ledger through the loss of NATS nodes', { timeout: 300_000 }, () => {
  let cluster: LoadCluster;
  let transport: Transport;
  let first: ScenarioResult | undefined;
  let certDir: TempDir | undefined;

  before(async () => {
    certDir = tempDir('broker-tls');
    const cert = selfSignedCert(certDir.path);
    cluster = await startLoadCluster(SHARDS, { natsNodes: NATS_NODES, natsToken: NATS_TOKEN, natsTls: cert });
    const nats = cluster.natsCluster;
    assert.ok(nats !== undefined);
    const layout = streamLayout({ shard_count: SHARDS, replicas: CLUSTER_REPLICAS });
    transport = await connectTransport({ servers: nats.url.split(','), layout, name: 'broker-test', token: NATS_TOKEN, tls_ca: cert.cert });
  });

  after(async () => {
    await transport?.close();
    await cluster?.stop();
    certDir?.remove();
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
    first = result;
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

  it('two of three nodes down: nothing is acknowledged; back up, writes resume and every earlier acknowledgement holds', async () => {
    const nats = cluster.natsCluster;
    assert.ok(nats !== undefined && first !== undefined, 'runs after the failover test');
    const [a, b] = nats.nodes;
    assert.ok(a !== undefined && b !== undefined);
    await Promise.all([a.kill(), b.kill()]);
    await sleep(RECONNECT_MS);
    // No quorum: JetStream cannot store a message, so the gateway must not acknowledge one.
    const ids = Array.from({ length: NO_QUORUM_WRITES }, (_, i) => `no-quorum-${i}`);
    const answers = await Promise.all(ids.map((id) => postTx(cluster.ingestUrl, id, `{noquorum}:${id}`)));
    for (const answer of answers) assert.ok(answer.status === 503 || answer.status === 504, JSON.stringify(answers));
    await Promise.all([a.restart(), b.restart()]);
    // A 503/504 leaves the outcome open; resends with the same id settle it, once, when the
    // stream has a leader again (503 with Retry-After until then).
    const resent = await Promise.all(ids.map((id) => settle(cluster.ingestUrl, id, `{noquorum}:${id}`)));
    assert.deepEqual(resent.map((r) => r.status), ids.map(() => 200), `${JSON.stringify(resent)}\n${cluster.logs().slice(-4_000)}`);
    console.log(`  no quorum   ${JSON.stringify(answers.map((r) => r.code))}; settled after ${resent.map((r) => r.tries).join(', ')} sends`);
    // Every transaction acknowledged before the double failure is still there and proven.
    const options = loadOptions(cluster, { receipt_wait_ms_max: 20_000 });
    const store = new RecordingStore();
    const report = await checkRun(first.log, await verifyingClient(options, store), { concurrency: 8, checkpointSizes: () => store.sizes });
    assert.equal(report.violations.length, 0, JSON.stringify(report.violations.slice(0, 5)));
    assert.equal(report.transactions_checked, first.log.acks.length);
    // And the ledger takes load again.
    const again = await runScenario(loadOptions(cluster, { run_id: 'broker-again', duration_ms: 3_000 }), 'checkout');
    assertClean(again, SHARDS, () => cluster.logs());
  });
});
