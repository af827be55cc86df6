// The SDK's end-to-end cluster: @cairn/testkit's (nats-server, shard processes, ingest, proof),
// with the proof service signing under a fixed test key whose verifier key the SDK pins.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair } from '@cairn/checkpoint';
import { ensureServicesBuilt, startCluster, tempDir, type Cluster } from '@cairn/testkit';

const SIGNER_SEED = new Uint8Array(32).fill(42);

export interface E2eOptions {
  readonly shards: number;
  readonly origin: string;
  readonly epochIntervalMs: number;
}

/** `apiKey`: the token of the one key the gateway holds (every tag): writes need it. */
export type E2eCluster = Cluster & { readonly verifierKey: string; readonly apiKey: string };

export async function startE2eCluster(o: E2eOptions): Promise<E2eCluster> {
  // @cairn/client cannot depend on the services (the proof service's CLI depends on this package),
  // so the build graph does not order them before this suite: build what is missing.
  ensureServicesBuilt();
  const keys = generateKeyPair(o.origin, SIGNER_SEED);
  const proof = { origin: o.origin, signerKey: keys.signerKey, epochIntervalMs: o.epochIntervalMs };
  // The gateway holds one API key (the file keeps only its digest), as a deployment's would.
  const apiKey = `cairn_${randomBytes(32).toString('base64url')}`;
  const keysDir = tempDir('client-keys');
  const keysFile = join(keysDir.path, 'api-keys.json');
  writeFileSync(keysFile, JSON.stringify({ keys: [{ name: 'e2e', sha256: createHash('sha256').update(apiKey).digest('hex'), tags: ['*'] }] }));
  const cluster = await startCluster({ shards: o.shards, name: 'client', proof, ingestEnv: { CAIRN_INGEST_API_KEYS_FILE: keysFile } });
  cluster.dirs.push(keysDir);
  return Object.assign(cluster, { verifierKey: keys.verifierKey, apiKey });
}
