// Every metric of the gateway, in one place: names, labels, units, buckets and bounds. The HTTP
// layer and the gateway take what they measure from here; GET /metrics writes registry.expose().
// Naming and bounds: docs/design/telemetry.md.
import {
  collectProcessMetrics,
  exponentialBuckets,
  HttpServerMetrics,
  latency_buckets_s,
  Registry,
  type Counter,
  type Histogram,
  type HistogramSeries,
} from '@cairn/telemetry';
import type { GatewayMeter, GatewayStats } from './gateway.js';

// Request bodies from 64 B to the 1 MiB default body_bytes_max (and one bucket past it).
const body_buckets_bytes = exponentialBuckets(64, 4, 10);
// Transactions per flush up to batch_txs_max's range; bytes per flush up to a few MB.
const flush_txs_buckets = exponentialBuckets(1, 2, 14);
const flush_bytes_buckets = exponentialBuckets(256, 4, 10);

// Routes are labelled by their template; any other path is one label value, never the raw path.
export { otherRoute } from '@cairn/telemetry';

export class IngestMetrics {
  readonly registry = new Registry();
  /** Requests, durations, errors, Retry-After answers, dropped connections (latencies to ~33 s; a commit waits at most commit_wait_ms_max, 30 s default). */
  readonly http: HttpServerMetrics;
  private readonly bodyBytes: Histogram;
  private readonly flushTxs: Histogram;
  private readonly flushBytes: Histogram;
  private readonly publish: Histogram;
  private readonly commitWait: HistogramSeries;
  private readonly transactions: Counter;
  private readonly keyReloads: Counter;
  private readonly stopProcess: () => void;

  constructor() {
    const r = this.registry;
    this.http = new HttpServerMetrics(r, { prefix: 'cairn_ingest' });
    this.bodyBytes = r.histogram({ name: 'cairn_ingest_http_request_body_bytes', help: 'Request body sizes read, by route template.', labels: ['route'], buckets: body_buckets_bytes, series_max: 16 });
    this.flushTxs = r.histogram({ name: 'cairn_ingest_flush_transactions', help: 'Transactions per flush (one JetStream atomic batch).', buckets: flush_txs_buckets });
    this.flushBytes = r.histogram({ name: 'cairn_ingest_flush_bytes', help: 'Encoded transaction bytes per flush, all shards.', buckets: flush_bytes_buckets });
    this.publish = r.histogram({ name: 'cairn_ingest_publish_duration_seconds', help: 'JetStream atomic batch publish, from send to ack, by result (stored, duplicate, error).', labels: ['result'], buckets: latency_buckets_s, series_max: 4 });
    this.commitWait = r
      .histogram({ name: 'cairn_ingest_commit_wait_seconds', help: 'From admission to the commit events of every shard a transaction touches.', buckets: latency_buckets_s })
      .labels();
    this.transactions = r.counter({ name: 'cairn_ingest_transactions_total', help: 'Transactions decided, by outcome (committed, accepted, or the error code).', labels: ['outcome'], series_max: 32 });
    this.keyReloads = r.counter({ name: 'cairn_ingest_api_keys_reloads_total', help: 'Reloads of api_keys_file (SIGHUP), by result (ok, refused: the keys in force kept).', labels: ['result'], series_max: 2 });
    this.stopProcess = collectProcessMetrics(r).stop;
  }

  /** The number of API keys in force, read at scrape time. */
  watchApiKeys(size: () => number): void {
    this.registry.gauge({ name: 'cairn_ingest_api_keys', help: 'API keys in force.', read: size });
  }

  apiKeysReloaded(result: 'ok' | 'refused'): void {
    this.keyReloads.labels(result).inc();
  }

  /** The gateway's own figures (GatewayStats, kept for /healthz too), read at scrape time. */
  watchGateway(stats: GatewayStats): void {
    const r = this.registry;
    r.gauge({ name: 'cairn_ingest_queue_transactions', help: 'Transactions admitted and not yet taken into a flush.', read: () => stats.queued });
    r.gauge({ name: 'cairn_ingest_waiters', help: 'Transactions admitted and not yet answered.', read: () => stats.waiters });
    r.gauge({ name: 'cairn_ingest_waiter_bytes', help: 'Key, value and meta bytes held by transactions admitted and not yet answered.', read: () => stats.waiter_bytes });
    r.gauge({ name: 'cairn_ingest_flushes_inflight', help: 'Atomic batches sent and not yet acked.', read: () => stats.flushes_inflight });
    r.counter({ name: 'cairn_ingest_commit_events_bad_total', help: 'Commit events that did not decode.', read: () => stats.commit_events_bad });
    r.counter({ name: 'cairn_ingest_commit_events_stale_total', help: "Early commit events that could not be a waiting transaction's own.", read: () => stats.commit_events_stale });
    r.counter({ name: 'cairn_ingest_early_events_dropped_total', help: 'Early commit events dropped past early_events_per_shard_max.', read: () => stats.early_events_dropped });
  }

  /** The HTTP layer's bytes in flight, read at scrape time. */
  watchHttp(bodyBytesInflight: () => number): void {
    this.registry.gauge({ name: 'cairn_ingest_http_body_inflight_bytes', help: 'Request body bytes held in memory, all connections.', read: bodyBytesInflight });
  }

  /** The series a route's body sizes go to (looked up once per route, at start). */
  bodyBytesOf(route: string): HistogramSeries {
    return this.bodyBytes.labels(route);
  }

  /** What the gateway reports, bound to this registry. */
  readonly gateway: GatewayMeter = {
    flushed: (txs, bytes) => {
      this.flushTxs.observe(txs);
      this.flushBytes.observe(bytes);
    },
    published: (result, seconds) => this.publish.labels(result).observe(seconds),
    decided: (outcome, commitWaitSeconds) => {
      this.transactions.labels(outcome).inc();
      if (commitWaitSeconds !== undefined) this.commitWait.observe(commitWaitSeconds);
    },
  };

  stop(): void {
    this.stopProcess();
  }
}
