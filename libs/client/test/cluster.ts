// The SDK's end-to-end cluster: @cairn/testkit's (nats-server, shard processes, ingest, proof),
// with the proof service signing under a fixed test key whose verifier key the SDK pins.
import { generateKeyPair } from '@cairn/checkpoint';
import { ensureServicesBuilt, startCluster, type Cluster } from '@cairn/testkit';

const SIGNER_SEED = new Uint8Array(32).fill(42);

export interface E2eOptions {
  readonly shards: number;
  readonly origin: string;
  readonly epochIntervalMs: number;
}

export type E2eCluster = Cluster & { readonly verifierKey: string };

export async function startE2eCluster(o: E2eOptions): Promise<E2eCluster> {
  // @cairn/client cannot depend on the services (the proof service's CLI depends on this package),
  // so the build graph does not order them before this suite: build what is missing.
  ensureServicesBuilt();
  const keys = generateKeyPair(o.origin, SIGNER_SEED);
  const proof = { origin: o.origin, signerKey: keys.signerKey, epochIntervalMs: o.epochIntervalMs };
  const cluster = await startCluster({ shards: o.shards, name: 'client', proof });
  return Object.assign(cluster, { verifierKey: keys.verifierKey });
}
