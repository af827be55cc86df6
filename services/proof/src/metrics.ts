// Every metric of the proof service, in one place: names, labels, units, buckets and bounds. The
// HTTP layer, the sealer and the shard reads take what they measure from here; GET /metrics writes
// registry.expose(). Naming and bounds: docs/design/telemetry.md.
import { collectProcessMetrics, HttpServerMetrics, latency_buckets_s, Registry, type Counter, type Gauge, type Histogram } from '@cairn/telemetry';
import { CairnError } from '@cairn/wire';
import { SealError, type SealOutcome } from './sealer.js';

// The route templates of http.ts, as OpenAPI names them; any other path is `other`.
export { otherRoute } from '@cairn/telemetry';

/** The sealer's report of one epoch attempt (see Sealer's onAttempt). */
export type EpochReport = (outcome: SealOutcome, seconds: number, error: unknown) => void;

/** The shard reads' report of one request to a shard (see NatsShards' meter). */
export type ShardRequestReport = (op: string, seconds: number, error: unknown) => void;

export class ProofMetrics {
  readonly registry = new Registry();
  /** Requests, durations (proven reads included; answer_ms_max is 60 s by default), errors, Retry-After answers, dropped connections. */
  readonly http: HttpServerMetrics;
  private readonly epochs: Counter;
  private readonly epochFailures: Counter;
  private readonly sealDuration: Histogram;
  private readonly lastSealed: Gauge;
  private readonly shardRequests: Counter;
  private readonly shardDuration: Histogram;
  private readonly stopProcess: () => void;

  constructor() {
    const r = this.registry;
    this.http = new HttpServerMetrics(r, { prefix: 'cairn_proof', durationHelp: 'Time from request to the end of the answer (proven reads included), by route template.' });
    this.epochs = r.counter({ name: 'cairn_proof_epochs_total', help: 'Epoch attempts by outcome: appended (a new signed state), unchanged, idle (nothing new), refused (a shard does not extend its sealed head), abandoned (a shard did not answer, the broker failed).', labels: ['outcome'], series_max: 8 });
    this.epochFailures = r.counter({ name: 'cairn_proof_epoch_failures_total', help: 'Failed epoch attempts by reason: a SEAL_* code, the error code of the failure, or other.', labels: ['reason'], series_max: 16 });
    this.sealDuration = r.histogram({ name: 'cairn_proof_seal_duration_seconds', help: 'Epoch attempts that completed a cut (appended or unchanged): markers, shard heads, growth checks, append and signature.', buckets: latency_buckets_s });
    this.lastSealed = r.gauge({ name: 'cairn_proof_last_seal_timestamp_seconds', help: 'When the last epoch completed a cut (appended or unchanged), Unix seconds; 0 before the first.' });
    this.shardRequests = r.counter({ name: 'cairn_proof_shard_requests_total', help: 'Requests to the shards by operation and result (ok, or the error code).', labels: ['op', 'result'] });
    this.shardDuration = r.histogram({ name: 'cairn_proof_shard_request_duration_seconds', help: 'Requests to the shards, send to answer, by operation.', labels: ['op'], buckets: latency_buckets_s, series_max: 16 });
    this.stopProcess = collectProcessMetrics(r).stop;
  }

  /** State read at scrape time: the newest signed size, failures in a row, requests in flight. */
  watch(figures: { signedSize: () => number; epochFailuresInARow: () => number }): void {
    this.registry.gauge({ name: 'cairn_proof_signed_size', help: 'Size of the newest signed state log (the checkpoint served).', read: figures.signedSize });
    this.registry.gauge({ name: 'cairn_proof_epoch_failures_consecutive', help: 'Epoch attempts failed in a row (0 when the last one completed).', read: figures.epochFailuresInARow });
  }

  watchHttp(inFlight: () => number): void {
    this.registry.gauge({ name: 'cairn_proof_http_requests_inflight', help: 'Requests holding a slot of requests_inflight_max.', read: inFlight });
  }

  readonly epoch: EpochReport = (outcome, seconds, error) => {
    const failed = outcome === 'failed';
    this.epochs.labels(failed ? (error instanceof SealError ? 'refused' : 'abandoned') : outcome).inc();
    if (failed) this.epochFailures.labels(reasonOf(error)).inc();
    if (outcome === 'appended' || outcome === 'unchanged') {
      this.sealDuration.observe(seconds);
      this.lastSealed.set(Date.now() / 1000);
    }
  };

  readonly shardRequest: ShardRequestReport = (op, seconds, error) => {
    this.shardRequests.labels(op, error === undefined ? 'ok' : reasonOf(error)).inc();
    this.shardDuration.labels(op).observe(seconds);
  };

  stop(): void {
    this.stopProcess();
  }
}

// Stable codes only, so the label stays a small fixed set.
function reasonOf(error: unknown): string {
  if (error instanceof SealError || error instanceof CairnError) return error.code;
  return 'other';
}
