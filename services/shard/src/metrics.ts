// What a shard operator watches, as Prometheus metrics (the table and the reasons are in
// docs/design/shard.md, "Metrics"). The apply loop only bumps the plain numbers of Applier.stats
// and the store keeps its own phase totals; both are read here at scrape time, so applying pays
// for no metric. Only the append and read durations are observed as they happen (once per append,
// once per read request).
import type { Store, TxStatus } from '@cairn/storage';
import { collectProcessMetrics, exponentialBuckets, Registry, type Counter, type CounterSeries, type Histogram, type ProcessMetrics } from '@cairn/telemetry';
import type { Service, ShardConsumer } from '@cairn/transport';
import { txStatuses } from '@cairn/wire';
import type { Applier } from './apply.js';
import { shardErrorCodes } from './errors.js';
import { readOps, type ReadObserver } from './reads.js';

/** The server's view of the shard's durable consumer (JetStream consumer info). */
export interface ConsumerFigures {
  /** Messages of the shard's subject in the stream, not yet delivered: the lag. */
  readonly pending: number;
  /** Delivered and not yet acknowledged. */
  readonly ack_pending: number;
  /** Of those, delivered more than once. */
  readonly redelivered: number;
}

/** What the metrics read at scrape time. Each is a cheap synchronous read except consumerInfo. */
export interface ShardMetricSources {
  readonly applier: Pick<Applier, 'applied' | 'inflight' | 'stats'>;
  readonly store: Pick<Store, 'head' | 'metrics'>;
  readonly reads: Pick<Service, 'inFlight' | 'refused'>;
  readonly consumer: Pick<ShardConsumer, 'resets'>;
  /** One round trip to the server; bounded here by CONSUMER_INFO_MS_MAX. */
  readonly consumerInfo: () => Promise<ConsumerFigures>;
}

/** A scrape waits at most this for the consumer's figures; past it they read NaN (unknown), not stale. */
export const CONSUMER_INFO_MS_MAX = 2_000;

// Appends: a small one syncs in ~1 ms, a merged 100k-record one takes seconds.
const APPEND_BUCKETS_S = exponentialBuckets(0.000_5, 2, 16);
// Reads: a point read is tens of microseconds; headAt may wait up to head_wait_ms_max.
const READ_BUCKETS_S = exponentialBuckets(0.000_05, 2.5, 14);
const MESSAGE_KINDS = ['txs', 'marker', 'rejected'] as const;
const PHASES = ['decide', 'pack', 'hash', 'tree', 'write'] as const;
const READ_OUTCOMES = ['ok', ...shardErrorCodes] as const;
const MS_PER_S = 1_000;

export class ShardMetrics {
  readonly registry = new Registry();
  readonly #appendSeconds: Histogram;
  readonly #readSeconds: Histogram;
  readonly #reads: Counter;
  readonly #process: ProcessMetrics;
  #consumer: ConsumerFigures | undefined;
  #consumerInfo: (() => Promise<ConsumerFigures>) | undefined;
  #consumerLookup: Promise<void> | undefined;

  constructor(readonly shard: number, readonly shards: number) {
    const r = this.registry;
    this.#appendSeconds = r.histogram({
      name: 'cairn_shard_append_duration_seconds',
      help: 'Storage appends, from handing the run to the store to its synced result, in seconds.',
      buckets: APPEND_BUCKETS_S,
    });
    // op x outcome is bounded: readOps + 'invalid' by 'ok' + the shard's error codes.
    const series_max = (readOps.length + 1) * READ_OUTCOMES.length;
    this.#reads = r.counter({ name: 'cairn_shard_reads_total', help: 'Read requests answered, by op and outcome (ok or the error code).', labels: ['op', 'outcome'], series_max });
    this.#readSeconds = r.histogram({
      name: 'cairn_shard_read_duration_seconds',
      help: 'Read requests, from receipt to answer, by op, in seconds.',
      labels: ['op'],
      buckets: READ_BUCKETS_S,
      series_max: readOps.length + 1,
    });
    // Which shard of how many this process is, for joins; the scrape target names the host.
    r.gauge({ name: 'cairn_shard_info', help: 'Always 1; the labels name the shard this process owns.', labels: ['shard', 'shards'], series_max: 1 }).labels(String(shard), String(shards)).set(1);
    this.#process = collectProcessMetrics(r);
  }

  /** For ApplierOptions.observeAppend. */
  readonly observeAppend = (seconds: number): void => {
    this.#appendSeconds.observe(seconds);
  };

  /** For the ReadApi: one count and one duration per request. */
  readonly observeRead: ReadObserver = (op, outcome, seconds) => {
    this.#reads.labels(op, outcome).inc();
    this.#readSeconds.labels(op).observe(seconds);
  };

  /** Registers everything read at scrape time; called once the parts it reads exist. */
  bind(s: ShardMetricSources): void {
    const r = this.registry;
    const stats = s.applier.stats;
    r.gauge({ name: 'cairn_shard_applied_seq', help: 'Stream sequence of the last applied message of this shard.', read: () => s.applier.applied });
    r.gauge({ name: 'cairn_shard_tree_size', help: 'Leaves in the shard\'s Merkle tree (committed records).', read: () => s.store.head().size });
    r.gauge({ name: 'cairn_shard_appends_inflight', help: 'Storage appends handed to the store and not yet taken in.', read: () => s.applier.inflight });
    r.gauge({ name: 'cairn_shard_reads_inflight', help: 'Read requests being answered.', read: () => s.reads.inFlight() });
    const consumer = (pick: (c: ConsumerFigures) => number) => () => (this.#consumer === undefined ? NaN : pick(this.#consumer));
    r.gauge({ name: 'cairn_shard_consumer_pending_messages', help: 'Messages of the shard\'s subject not yet delivered to it (lag); NaN when the server did not answer.', read: consumer((c) => c.pending) });
    r.gauge({ name: 'cairn_shard_consumer_ack_pending_messages', help: 'Messages delivered and not yet acknowledged; NaN when the server did not answer.', read: consumer((c) => c.ack_pending) });
    r.gauge({ name: 'cairn_shard_consumer_redelivered_messages', help: 'Unacknowledged messages delivered more than once; NaN when the server did not answer.', read: consumer((c) => c.redelivered) });

    const messages = r.counter({ name: 'cairn_shard_messages_total', help: 'Stream messages applied, by kind (txs, marker, rejected: applied empty).', labels: ['kind'], series_max: MESSAGE_KINDS.length });
    const txs = r.counter({ name: 'cairn_shard_transactions_total', help: 'Transactions decided, by status.', labels: ['status'], series_max: txStatuses.length });
    const phases = r.counter({ name: 'cairn_shard_append_phase_seconds_total', help: 'Time the store spent in each phase of its appends, in seconds.', labels: ['phase'], series_max: PHASES.length });
    r.counter({ name: 'cairn_shard_records_total', help: 'Records committed (leaves appended).', read: () => stats.records });
    r.counter({ name: 'cairn_shard_appends_total', help: 'Storage appends taken in.', read: () => stats.appends });
    r.counter({ name: 'cairn_shard_appends_pipelined_total', help: 'Appends handed to the store while an earlier one was in flight.', read: () => stats.pipelined });
    r.counter({ name: 'cairn_shard_messages_redelivered_total', help: 'Messages the server delivered again (crash, lost ack, expired ack wait).', read: () => stats.redelivered });
    r.counter({ name: 'cairn_shard_messages_skipped_total', help: 'Redelivered messages dropped because they were already applied or in flight.', read: () => stats.skipped });
    r.counter({ name: 'cairn_shard_messages_store_refused_total', help: 'Messages applied empty because the store refused their content.', read: () => stats.store_refused });
    r.counter({ name: 'cairn_shard_commit_events_split_total', help: 'Commit event pieces published because an event exceeded the broker max_payload.', read: () => stats.events_split });
    r.counter({ name: 'cairn_shard_commit_events_dropped_total', help: 'Transactions committed whose result alone exceeded the broker max_payload: never announced.', read: () => stats.events_dropped });
    r.counter({ name: 'cairn_shard_consumer_resets_total', help: 'Times the durable consumer was re-created to restore in-order delivery (1 at start).', read: () => s.consumer.resets() });
    r.counter({ name: 'cairn_shard_read_refusals_total', help: 'Read requests refused at once with BACKPRESSURE (read_inflight_max running).', read: () => s.reads.refused() });

    // Labelled totals catch up with the plain numbers they mirror (which only grow).
    const kindSeries = MESSAGE_KINDS.map((k) => messages.labels(k));
    const statusSeries = txStatuses.map((st) => txs.labels(st));
    const phaseSeries = PHASES.map((p) => phases.labels(p));
    r.onCollect(() => {
      catchUp(kindSeries, [stats.messages - stats.markers - stats.rejected, stats.markers, stats.rejected]);
      catchUp(statusSeries, txStatuses.map((st) => stats.outcomes[st as TxStatus]));
      const m = s.store.metrics();
      catchUp(phaseSeries, [m.decideMs, m.packMs, m.hashMs, m.treeMs, m.writeMs].map((ms) => ms / MS_PER_S));
    });
    this.#consumerInfo = s.consumerInfo;
  }

  /** The exposition text, after asking the server for the consumer's figures (bounded, shared by concurrent scrapes). */
  async scrape(): Promise<string> {
    await this.#refreshConsumer();
    return this.registry.expose();
  }

  #refreshConsumer(): Promise<void> {
    const lookup = this.#consumerInfo;
    if (lookup === undefined) return Promise.resolve();
    this.#consumerLookup ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), CONSUMER_INFO_MS_MAX);
      });
      try {
        this.#consumer = await Promise.race([lookup(), deadline]);
      } catch {
        this.#consumer = undefined;
      } finally {
        clearTimeout(timer);
        this.#consumerLookup = undefined;
      }
    })();
    return this.#consumerLookup;
  }

  /** Stops the event-loop sampler; the registry can still be exposed. */
  stop(): void {
    this.#process.stop();
  }
}

// Only forward: a float total (seconds from ms) can land a hair below the sum of earlier steps.
function catchUp(series: readonly CounterSeries[], totals: readonly number[]): void {
  series.forEach((c, i) => {
    const step = (totals[i] as number) - c.value;
    if (step > 0) c.inc(step);
  });
}
