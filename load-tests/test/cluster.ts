// The load tests' cluster: @cairn/testkit's (real nats-server, shard processes with RocksDB on
// disk, the ingest gateway, the proof service signing under a fixed test key), and the load
// options that point at it.
import assert from 'node:assert/strict';
import { generateKeyPair } from '@cairn/checkpoint';
import { ensureServicesBuilt, startCluster, type Cluster, type ClusterOptions } from '@cairn/testkit';
import { checkOptions, LOAD_DEFAULTS, perShard, REFUSALS_CHECKED_MAX, type LoadOptions, type ScenarioResult } from '../src/index.js';

const SIGNER_SEED = new Uint8Array(32).fill(7);
export const ORIGIN = 'load.cairn.test/ledger';
/** Shops of checkout and tokens of nft in the tests: few, so that clients race for them. */
export const TAGS = 3;

export type LoadCluster = Cluster & { readonly verifierKey: string };

/** The load must have produced at least this many acknowledged transactions for a pass to mean anything. */
export const ACKS_MIN = 100;

/**
 * `broker.natsNodes`: a JetStream cluster of that many nodes (stream on 3 of them) instead of one
 * nats-server; `natsToken`: the broker asks every client for it; `natsTls`: clients connect over
 * TLS to this certificate.
 */
export async function startLoadCluster(shards: number, broker: Pick<ClusterOptions, 'natsNodes' | 'natsToken' | 'natsTls'> = {}): Promise<LoadCluster> {
  ensureServicesBuilt();
  const keys = generateKeyPair(ORIGIN, SIGNER_SEED);
  const proof = { origin: ORIGIN, signerKey: keys.signerKey, epochIntervalMs: 50 };
  const cluster = await startCluster({ shards, name: 'load', proof, ...broker });
  return Object.assign(cluster, { verifierKey: keys.verifierKey });
}

/** Small, fast load options against the cluster; `over` replaces any of them. */
export function loadOptions(cluster: LoadCluster, over: Partial<LoadOptions>): LoadOptions {
  return checkOptions({
    scenarios: ['checkout', 'nft'],
    ingest_url: cluster.ingestUrl,
    proof_url: cluster.proofUrl,
    verifier_key: cluster.verifierKey,
    origin: ORIGIN,
    duration_ms: 3_000,
    requests_max: 20_000,
    clients: 8,
    run_id: 'smoke',
    seed: 1,
    shards: cluster.options.shards,
    shops: TAGS,
    skus_per_shop: 2,
    stock_initial: LOAD_DEFAULTS.stock_initial,
    tokens: TAGS,
    precondition_retries_max: LOAD_DEFAULTS.precondition_retries_max,
    uncertain_retries_max: LOAD_DEFAULTS.uncertain_retries_max,
    request_ms_max: 20_000,
    check_concurrency: 8,
    receipt_wait_ms_max: 20_000,
    baseline: false,
    ...over,
  });
}


/** Every promise of the run kept, over enough transactions, on every shard, with a moving checkpoint. */
export function assertClean(r: ScenarioResult, shards: number, logs: () => string): void {
  assert.equal(r.check.violations_total, 0, `${JSON.stringify(r.check.violations.slice(0, 5), null, 1)}\n${logs().slice(-3_000)}`);
  assert.ok(r.load.committed >= ACKS_MIN, `only ${r.load.committed} committed transactions`);
  assert.ok(r.check.transactions_checked >= r.load.committed, `checked ${r.check.transactions_checked} of ${r.load.committed}`);
  assert.equal(r.check.transactions_checked, r.log.acks.length);
  assert.ok(r.check.refusals_checked > 0 && r.check.refusals_checked === Math.min(r.log.refused.length, REFUSALS_CHECKED_MAX));
  assert.ok(r.check.keys_checked > 0 && r.check.versions_checked > r.check.keys_checked);
  assert.ok(r.check.checkpoint_sizes.length >= 2, 'the trusted checkpoint moved during the run');
  assert.deepEqual(perShard(r).map(([s]) => s), [...Array(shards).keys()], 'the load reached every shard');
}
