// Composition of one shard worker: store, transport, apply loop on a durable pull consumer, commit
// events, read API. startShard is what main.ts and the tests run.
import { jetstreamManager, JetStreamApiError, type JetStreamManager, type MsgRequest } from '@nats-io/jetstream';
import { openStore, type OpenStoreOptions, type Store } from '@cairn/storage';
import {
  PUBLISH_OVERHEAD_BYTES_MAX,
  commitSubject,
  connectTransport,
  readSubject,
  shardSubject,
  streamLayout,
  type ShardConsumer,
  type Service,
  type Transport,
} from '@cairn/transport';
import { prometheusContentType } from '@cairn/telemetry';
import { Applier } from './apply.js';
import { ShardError } from './errors.js';
import { natsAccess, parseListen, storageLimitsForShard, type ShardConfig } from './config.js';
import { listenMetrics, type MetricsHttp } from './metrics-http.js';
import { ShardMetrics, type ConsumerFigures } from './metrics.js';
import { ReadApi, type StreamView } from './reads.js';

export { storageLimitsForShard };


export interface ShardWorker {
  readonly config: ShardConfig;
  readonly store: Store;
  readonly transport: Transport;
  readonly applier: Applier;
  readonly reads: ReadApi;
  readonly metrics: ShardMetrics;
  /** The scrape listener; undefined unless config.metrics_listen names an address. */
  readonly metricsHttp: MetricsHttp | undefined;
  /** Rejects when consumption stopped on its own (handler, consumer or apply loop failure): the process should exit. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** How startShard opens its store; tests pass `(o) => Store.open(o, wrapKv)` to give it a failing disk. */
export type OpenShardStore = (options: OpenStoreOptions) => Promise<Store>;

export async function startShard(
  config: ShardConfig,
  log: (line: string) => void = () => undefined,
  open: OpenShardStore = openStore,
): Promise<ShardWorker> {
  const layout = streamLayout({ shard_count: config.shards, stream: config.stream, subject_prefix: config.subject_prefix, replicas: config.replicas });
  const listenAt = parseListen(config.metrics_listen);
  const broker = natsAccess(config);
  const store = await open({ dir: config.data_dir, limits: storageLimitsForShard });
  const metrics = new ShardMetrics(config.shard, config.shards);
  let transport: Transport | undefined;
  let metricsHttp: MetricsHttp | undefined;
  try {
    // No caller stack kept per broker request (every consumer ack and read reply is one): failures
    // still carry their TransportError code, which is all the apply loop and the reads act on.
    transport = await connectTransport({ servers: config.nats_url.split(','), layout, name: `cairn-shard-${config.shard}`, async_traces: false, ...broker });
    await transport.ensureStream();
    const t = transport;
    const events = commitSubject(layout, config.shard);
    const applier = new Applier(store, {
      layout: { shard: config.shard, shards: config.shards },
      limits: config,
      boundaries_max: config.head_boundaries_max,
      appends_inflight_max: config.appends_inflight_max,
      publish: (event) => t.publishEvent(events, event),
      event_bytes_max: t.maxPayloadBytes - PUBLISH_OVERHEAD_BYTES_MAX,
      log,
      observeAppend: metrics.observeAppend,
    });
    const jsm = await jetstreamManager(t.nc);
    const reads = new ReadApi(store, applier, config, streamView(jsm, config.stream, shardSubject(layout, config.shard)), metrics.observeRead);
    const service: Service = t.serve(readSubject(layout, config.shard), (req) => reads.handle(req.data), { in_flight_max: config.read_inflight_max });
    let stopped = false;
    // Bound before consuming: a taken port stops the start before anything is applied.
    if (listenAt !== undefined) {
      metricsHttp = await listenMetrics({
        address: listenAt,
        connections_max: config.metrics_connections_max,
        scrape: () => metrics.scrape(),
        content_type: prometheusContentType,
        health: () => ({ ok: !stopped, detail: { shard: config.shard, applied_seq: applier.applied, size: store.head().size } }),
      });
    }
    const consumer: ShardConsumer = await t.consume(
      {
        shard: config.shard,
        durable: config.durable,
        start_seq: applier.applied + 1,
        batch_msgs_max: config.fetch_msgs_max,
        ack_wait_ms: config.ack_wait_ms,
        ack_pending_max: config.ack_pending_max,
      },
      (msgs) => applier.apply(msgs),
    );
    metrics.bind({ applier, store, reads: service, consumer, consumerInfo: () => consumerFigures(jsm, config.stream, config.durable) });
    const http = metricsHttp;
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        stopped = true;
        await http?.close();
        metrics.stop();
        await consumer.stop();
        // Appends the last handler left in flight: their commit events go out before the transport closes.
        await applier.drain().catch(() => undefined);
        await service.stop();
        await t.close();
        await store.close();
      })();
      return stopping;
    };
    // An append left in flight by a handler that already resolved fails outside any handler call.
    const done = Promise.race([consumer.done, applier.failure]);
    done.catch(() => {
      stopped = true;
    });
    return { config, store, transport: t, applier, reads, metrics, metricsHttp, done, stop };
  } catch (error) {
    metrics.stop();
    await metricsHttp?.close().catch(() => undefined);
    await transport?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}

async function consumerFigures(jsm: JetStreamManager, stream: string, durable: string): Promise<ConsumerFigures> {
  const info = await jsm.consumers.info(stream, durable);
  return { pending: info.num_pending, ack_pending: info.num_ack_pending, redelivered: info.num_redelivered };
}

// JetStream's "next message on a subject at or after seq" lookup (STREAM.MSG.GET next_by_subj).
// nats.js types the query narrower than the server accepts, hence the cast.
const NO_MESSAGE_FOUND = 10_037;

/** A broker that does not answer now (a timeout, no responders, a leader election) is an outage: retry, not a bug. */
function brokerUnavailable(error: unknown, what: string): ShardError {
  return new ShardError('SHARD_UNAVAILABLE', `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

function streamView(jsm: JetStreamManager, stream: string, subject: string): StreamView {
  return {
    async nextOnSubject(seq) {
      try {
        const msg = await jsm.streams.getMessage(stream, { seq, next_by_subj: subject } as unknown as MsgRequest);
        return msg === null ? undefined : msg.seq;
      } catch (error) {
        if (error instanceof JetStreamApiError && error.code === NO_MESSAGE_FOUND) return undefined;
        throw brokerUnavailable(error, `next message on ${subject} from ${seq}`);
      }
    },
    async lastSeq() {
      try {
        return (await jsm.streams.info(stream)).state.last_seq;
      } catch (error) {
        throw brokerUnavailable(error, `stream ${stream} info`);
      }
    },
  };
}
