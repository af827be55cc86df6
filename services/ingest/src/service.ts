// Composition: transport, stream check, session, gateway, commit-event subscription, HTTP server.
// startIngest is what main.ts and the integration tests run.
import { hash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { PUBLISH_OVERHEAD_BYTES_MAX, commitSubjectAll, connectTransport, streamLayout, type Transport } from '@cairn/transport';
import { CairnError, shardOfTag, type Sha256 } from '@cairn/wire';
import { ApiKeys } from './auth.js';
import { authMode, natsAccess, tlsFiles, type IngestConfig } from './config.js';
import { Gateway } from './gateway.js';
import { createIngestServer } from './http.js';
import { IngestMetrics } from './metrics.js';
import { natsClaims } from './claims.js';
import { mapError, natsLedger, newSession } from './nats-ledger.js';

// node:crypto's SHA-256 (SHA-NI where the CPU has it); byte-identical to @cairn/wire's default.
// The one-shot crypto.hash, not createHash: no Hash object per call, which on the inputs hashed
// per request (a tag, a few hundred bytes of canonical content) cost more than the digest itself.
export const nodeSha256: Sha256 = (data) => {
  const d = hash('sha256', data, 'buffer');
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};

// Tags repeat (one per shop, say): their shard is memoized, in a map cleared when it reaches
// shard_cache_tags_max so that it stays bounded whatever keys clients send.
export const shard_cache_tags_max = 65_536;

export function cachedShardOf(shardCount: number, sha256: Sha256): (tag: string) => number {
  const cache = new Map<string, number>();
  return (tag) => {
    let shard = cache.get(tag);
    if (shard === undefined) {
      if (cache.size >= shard_cache_tags_max) cache.clear();
      shard = shardOfTag(tag, shardCount, sha256);
      cache.set(tag, shard);
    }
    return shard;
  };
}

export interface IngestService {
  readonly url: string;
  readonly port: number;
  readonly gateway: Gateway;
  readonly transport: Transport;
  readonly session: number;
  readonly metrics: IngestMetrics;
  // API keys held (0: writes need none).
  readonly apiKeys: number;
  // Reads api_keys_file again (SIGHUP): what happened, in a line for the log.
  reloadApiKeys(): { readonly ok: boolean; readonly message: string };
  // Stops taking requests, answers the open ones (bounded by shutdown_ms_max), closes NATS.
  stop(): Promise<void>;
}

/** The API keys writes must carry, read before anything connects: a bad file stops the start. */
function loadApiKeys(config: IngestConfig): ApiKeys | undefined {
  if (authMode(config) === 'none') return undefined;
  try {
    return ApiKeys.load(config.api_keys_file);
  } catch (error) {
    throw new CairnError('internal', `config: api_keys_file ${error instanceof Error ? error.message : String(error)}`);
  }
}

// How long a stop waits, after the gateway answered its waiters, for those answers to be written.
const answers_written_ms_max = 200;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function reloadKeys(config: IngestConfig, apiKeys: ApiKeys | undefined, metrics: IngestMetrics): { ok: boolean; message: string } {
  if (apiKeys === undefined) return { ok: false, message: 'no API keys to reload: the gateway runs with auth=none' };
  try {
    apiKeys.reload(config.api_keys_file);
    metrics.apiKeysReloaded('ok');
    return { ok: true, message: `reloaded ${apiKeys.size} API keys from ${config.api_keys_file}` };
  } catch (error) {
    metrics.apiKeysReloaded('refused');
    return { ok: false, message: `kept the ${apiKeys.size} API keys in force: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export async function startIngest(config: IngestConfig): Promise<IngestService> {
  const apiKeys = loadApiKeys(config);
  const tls = tlsFiles(config);
  const broker = natsAccess(config);
  const layout = streamLayout({ shard_count: config.shards, stream: config.stream, subject_prefix: config.subject_prefix, replicas: config.replicas });
  const transport = await connectTransport({
    servers: config.nats_url.split(','),
    layout,
    name: 'cairn-ingest',
    publish_timeout_ms: config.publish_timeout_ms,
    batches_in_flight_max: config.flushes_inflight_max,
    // No caller stack kept per broker request (three Errors built per atomic batch, only for a
    // failure's trace): failures still map by their TransportError code (nats-ledger.ts).
    async_traces: false,
    ...broker,
  });
  try {
    if (config.message_bytes_max + PUBLISH_OVERHEAD_BYTES_MAX > transport.maxPayloadBytes) {
      const room = transport.maxPayloadBytes - PUBLISH_OVERHEAD_BYTES_MAX;
      throw new CairnError('internal', `config: message_bytes_max ${config.message_bytes_max} exceeds the broker's max_payload ${transport.maxPayloadBytes} less ${PUBLISH_OVERHEAD_BYTES_MAX} for headers (${room})`);
    }
    await transport.ensureStream();
    await transport.ensureClaimStream();
    const session = await newSession(transport);
    const ledger = natsLedger(transport, config.retry_after_s);
    const claims = natsClaims(transport, nodeSha256, (error) => mapError(error, config.retry_after_s), config.retry_after_s);
    const metrics = new IngestMetrics();
    // A monotonic clock: deadlines and flush ages must not jump when the wall clock is set.
    const gateway = new Gateway(config, ledger, session, nodeSha256, claims, () => performance.now(), metrics.gateway);
    metrics.watchGateway(gateway.stats);
    if (apiKeys !== undefined) metrics.watchApiKeys(() => apiKeys.size);
    const events = transport.subscribe(commitSubjectAll(layout), (e) => gateway.onCommitEvent(e.data));
    await transport.flush(); // the subscription is live before the first publish
    const validate = { limits: config, shardCount: config.shards, sha256: nodeSha256, shardOfTag: cachedShardOf(config.shards, nodeSha256) };
    const server = createIngestServer({ config, gateway, validate, healthy: () => ledger.connected(), metrics, ...(apiKeys === undefined ? {} : { apiKeys }), ...(tls === undefined ? {} : { tls }) });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await gateway.close(config.shutdown_ms_max);
        // Every waiter has its outcome now, but a handler writes its answer a few ticks later:
        // cutting the connections at once would drop answers that are on their way.
        server.closeIdleConnections();
        await Promise.race([closed, delay(answers_written_ms_max)]);
        server.closeAllConnections();
        await closed;
        events.stop();
        await transport.close();
        metrics.stop();
      })();
      return stopping;
    };
    const reloadApiKeys = (): { ok: boolean; message: string } => reloadKeys(config, apiKeys, metrics);
    return { url: `${tls === undefined ? 'http' : 'https'}://${config.host}:${port}`, port, gateway, transport, session, metrics, apiKeys: apiKeys?.size ?? 0, reloadApiKeys, stop };
  } catch (error) {
    await transport.close();
    throw error;
  }
}
