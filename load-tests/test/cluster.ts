// The load tests' cluster: @cairn/testkit's (real nats-server, shard processes with RocksDB on
// disk, the ingest gateway, the proof service signing under a fixed test key), and the load
// options that point at it.
import { generateKeyPair } from '@cairn/checkpoint';
import { ensureServicesBuilt, startCluster, type Cluster } from '@cairn/testkit';
import { checkOptions, LOAD_DEFAULTS, type LoadOptions } from '../src/index.js';

const SIGNER_SEED = new Uint8Array(32).fill(7);
export const ORIGIN = 'load.cairn.test/ledger';
/** Shops of checkout and tokens of nft in the tests: few, so that clients race for them. */
export const TAGS = 3;

export type LoadCluster = Cluster & { readonly verifierKey: string };

export async function startLoadCluster(shards: number): Promise<LoadCluster> {
  ensureServicesBuilt();
  const keys = generateKeyPair(ORIGIN, SIGNER_SEED);
  const cluster = await startCluster({ shards, name: 'load', proof: { origin: ORIGIN, signerKey: keys.signerKey, epochIntervalMs: 50 } });
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

