// The metrics every HTTP server of Cairn keeps, one definition for all of them: the same names
// under each service's prefix, so one dashboard reads the gateway and the proof service alike.
import type { Counter, Histogram } from './metrics.js';
import type { Registry } from './registry.js';
import { exponentialBuckets } from './registry.js';

/** Latencies from 0.5 ms to about 33 s (+Inf takes the rest): the services' longest waits are 30-60 s. */
export const latency_buckets_s: readonly number[] = exponentialBuckets(0.0005, 2, 17);

/** Any path outside a server's route table is this one label value, never the raw path. */
export const otherRoute = 'other';

const methods = new Set(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE', 'PATCH']);
/** Status codes as label values, built once: no number-to-string per request. */
const codeLabels: readonly string[] = Array.from({ length: 600 }, (_, i) => String(i));
/** A response closed before its headers went out (client gone, connection dropped). */
const abortedCode = 'aborted';
/** Route templates a server has at most; more are folded into the overflow series. */
const routes_max = 16;

export interface HttpServerMetricsOptions {
  /** Metric name prefix, e.g. `cairn_ingest` (names become `<prefix>_http_requests_total`, ...). */
  readonly prefix: string;
  /** What the request duration covers, for its HELP text. */
  readonly durationHelp?: string;
}

/** Requests, durations, error codes, Retry-After answers and dropped connections of one server. */
export class HttpServerMetrics {
  readonly #requests: Counter;
  readonly #duration: Histogram;
  readonly #errors: Counter;
  readonly #retryAfter: Counter;
  readonly connectionsDropped: Counter;

  constructor(registry: Registry, options: HttpServerMetricsOptions) {
    const p = `${options.prefix}_http`;
    this.#requests = registry.counter({ name: `${p}_requests_total`, help: 'HTTP requests answered, by route template, method and status code.', labels: ['route', 'method', 'code'] });
    this.#duration = registry.histogram({
      name: `${p}_request_duration_seconds`,
      help: options.durationHelp ?? 'Time from request to the end of the answer, by route template.',
      labels: ['route'],
      buckets: latency_buckets_s,
      series_max: routes_max,
    });
    this.#errors = registry.counter({ name: `${p}_errors_total`, help: 'Error answers by route template and stable error code.', labels: ['route', 'error'] });
    this.#retryAfter = registry.counter({ name: `${p}_retry_after_total`, help: 'Answers that told the client to retry later (Retry-After), by error code.', labels: ['reason'], series_max: 16 });
    this.connectionsDropped = registry.counter({ name: `${p}_connections_dropped_total`, help: 'New connections closed unanswered because connections_max were open.' });
  }

  /** One answer (or an aborted one: `headersSent` false), counted once when it went out. */
  answered(route: string, method: string | undefined, code: number, headersSent: boolean, error: string | undefined, retried: boolean, seconds: number): void {
    const m = method !== undefined && methods.has(method) ? method : 'other';
    const c = headersSent ? (codeLabels[code] ?? 'other') : abortedCode;
    this.#requests.labels(route, m, c).inc();
    this.#duration.labels(route).observe(seconds);
    if (error === undefined) return;
    this.#errors.labels(route, error).inc();
    if (retried) this.#retryAfter.labels(error).inc();
  }
}
