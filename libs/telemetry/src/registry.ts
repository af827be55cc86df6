import { TelemetryError, TelemetryErrorCode } from './errors.js';
import { Counter, Gauge, Histogram } from './metrics.js';
import { checkHelp, checkLabelNames, checkLimit, checkMetricName, histogramSuffixes, name_chars_max, type MetricType } from './names.js';
import type { SeriesBounds } from './series.js';

/**
 * Named defaults and the ranges they are checked against. series_max: distinct label-value sets
 * per metric (routes x methods x codes of a service are a few dozen). buckets_max: a histogram
 * series costs buckets_max + 3 lines per scrape.
 */
export const telemetryDefaults = {
  metrics_max: 128,
  series_max: 64,
  label_value_chars_max: 128,
} as const;

export const telemetryLimits = {
  metrics_max: { min: 1, max: 1024 },
  series_max: { min: 1, max: 10_000 },
  label_value_chars_max: { min: 1, max: 4096 },
  buckets_max: 32,
} as const;

/** The counter every registry has: lookups that found no room and went to an overflow series. */
export const seriesDroppedMetricName = 'cairn_telemetry_series_dropped_total';

export interface RegistryOptions {
  readonly metrics_max?: number;
  readonly label_value_chars_max?: number;
}

export interface MetricOptions {
  readonly name: string;
  readonly help: string;
  /** Label names, declared once; observations then give values in this order. */
  readonly labels?: readonly string[];
  readonly series_max?: number;
}

export interface CounterOptions extends MetricOptions {
  /** Read at each scrape instead of counted here (a total kept elsewhere); no labels allowed. */
  readonly read?: () => number;
}

export interface GaugeOptions extends MetricOptions {
  /** Read at each scrape (a queue's length, a size kept elsewhere); no labels allowed. */
  readonly read?: () => number;
}

export interface HistogramOptions extends MetricOptions {
  /** Upper bounds in the metric's unit, finite and strictly increasing; +Inf is added. */
  readonly buckets: readonly number[];
}

type Exposable = Counter | Gauge | Histogram;

/**
 * The metrics of one process, in registration order, exposed as one Prometheus text page. Not a
 * global: a service makes one and passes it where it is measured, so tests get a fresh one each.
 */
export class Registry {
  private readonly metrics: Exposable[] = [];
  // Every sample name taken: a histogram takes name_bucket, name_sum and name_count as well.
  private readonly sampleNames = new Set<string>();
  private readonly hooks: (() => void)[] = [];
  private readonly metrics_max: number;
  private readonly label_value_chars_max: number;
  private readonly dropped: Counter;

  constructor(options: RegistryOptions = {}) {
    this.metrics_max = options.metrics_max ?? telemetryDefaults.metrics_max;
    this.label_value_chars_max = options.label_value_chars_max ?? telemetryDefaults.label_value_chars_max;
    checkLimit('metrics_max', this.metrics_max, telemetryLimits.metrics_max.min, telemetryLimits.metrics_max.max);
    checkLimit('label_value_chars_max', this.label_value_chars_max, telemetryLimits.label_value_chars_max.min, telemetryLimits.label_value_chars_max.max);
    // One series per metric, its label values metric names: it cannot overflow itself, so its
    // own drop callback never runs (and must not: it would count into itself).
    const bounds = { series_max: this.metrics_max + 1, label_value_chars_max: name_chars_max };
    const help = "Observations that went to a metric's _overflow series because series_max label-value sets were taken (or a label value was too long).";
    this.dropped = this.add(new Counter(seriesDroppedMetricName, help, ['metric'], bounds, () => {}, undefined), []);
  }

  counter(options: CounterOptions): Counter {
    const labels = this.check(options, 'counter', []);
    checkRead(options.name, options.read, labels);
    const m = new Counter(options.name, options.help, labels, this.bounds(options), this.dropCounter(options.name), options.read);
    return this.add(m, []);
  }

  gauge(options: GaugeOptions): Gauge {
    const labels = this.check(options, 'gauge', []);
    checkRead(options.name, options.read, labels);
    const m = new Gauge(options.name, options.help, labels, this.bounds(options), this.dropCounter(options.name), options.read);
    return this.add(m, []);
  }

  histogram(options: HistogramOptions): Histogram {
    const labels = this.check(options, 'histogram', histogramSuffixes);
    const buckets = checkBuckets(options.name, options.buckets);
    const m = new Histogram(options.name, options.help, labels, this.bounds(options), this.dropCounter(options.name), buckets);
    return this.add(m, histogramSuffixes);
  }

  /** Runs `hook` at the start of every expose(), to set gauges from state read at scrape time. */
  onCollect(hook: () => void): void {
    if (typeof hook !== 'function') throw new TelemetryError(TelemetryErrorCode.OptionsInvalid, 'onCollect takes a function');
    this.hooks.push(hook);
  }

  /** Every metric in the Prometheus text format 0.0.4 (serve it as prometheusContentType). */
  expose(): string {
    for (const hook of this.hooks) hook();
    const out: string[] = [];
    for (const m of this.metrics) m.expose(out);
    out.push('');
    return out.join('\n');
  }

  private check(options: MetricOptions, type: MetricType, suffixes: readonly string[]): readonly string[] {
    if (typeof options !== 'object' || options === null) throw new TelemetryError(TelemetryErrorCode.OptionsInvalid, 'metric options must be an object');
    checkMetricName(options.name, type);
    checkHelp(options.name, options.help);
    const labels = options.labels ?? [];
    checkLabelNames(options.name, labels, type);
    for (const sample of [options.name, ...suffixes.map((s) => options.name + s)]) {
      if (this.sampleNames.has(sample)) throw new TelemetryError(TelemetryErrorCode.Duplicate, `${sample} is already registered`);
    }
    // The dropped counter is the registry's own and does not take a place.
    if (this.metrics.length > this.metrics_max) throw new TelemetryError(TelemetryErrorCode.RegistryFull, `a registry holds at most ${this.metrics_max} metrics`);
    return [...labels];
  }

  private bounds(options: MetricOptions): SeriesBounds {
    const series_max = options.series_max ?? telemetryDefaults.series_max;
    checkLimit(`series_max of ${options.name}`, series_max, telemetryLimits.series_max.min, telemetryLimits.series_max.max);
    return { series_max, label_value_chars_max: this.label_value_chars_max };
  }

  // The dropped counter's series for this metric, looked up on the first drop only.
  private dropCounter(name: string): () => void {
    let series: { inc(): void } | undefined;
    return () => {
      series ??= this.dropped.labels(name);
      series.inc();
    };
  }

  private add<M extends Exposable>(m: M, suffixes: readonly string[]): M {
    this.sampleNames.add(m.name);
    for (const s of suffixes) this.sampleNames.add(m.name + s);
    this.metrics.push(m);
    return m;
  }
}

function checkRead(name: string, read: (() => number) | undefined, labels: readonly string[]): void {
  if (read === undefined) return;
  if (typeof read !== 'function') throw new TelemetryError(TelemetryErrorCode.OptionsInvalid, `read of ${name} must be a function`);
  if (labels.length > 0) throw new TelemetryError(TelemetryErrorCode.OptionsInvalid, `${name}: a read callback gives one value, so the metric cannot have labels (set labelled gauges in onCollect)`);
}

function checkBuckets(name: string, buckets: readonly number[]): readonly number[] {
  const max = telemetryLimits.buckets_max;
  if (!Array.isArray(buckets) || buckets.length === 0 || buckets.length > max) {
    throw new TelemetryError(TelemetryErrorCode.BucketsInvalid, `${name} needs 1..${max} bucket bounds`);
  }
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i] as unknown;
    if (typeof b !== 'number' || !Number.isFinite(b)) throw new TelemetryError(TelemetryErrorCode.BucketsInvalid, `${name}: bucket bound ${String(b)} is not a finite number (+Inf is implied)`);
    if (i > 0 && !(b > (buckets[i - 1] as number))) throw new TelemetryError(TelemetryErrorCode.BucketsInvalid, `${name}: bucket bounds must be strictly increasing, ${String(b)} follows ${String(buckets[i - 1])}`);
  }
  return Object.freeze([...buckets]);
}

/** `count` bounds from `start`, each `factor` times the one before (the usual latency spread). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (!(start > 0) || !Number.isFinite(start) || !(factor > 1) || !Number.isFinite(factor)) {
    throw new TelemetryError(TelemetryErrorCode.BucketsInvalid, `exponential buckets need start > 0 and factor > 1, got ${start}, ${factor}`);
  }
  checkLimit('bucket count', count, 1, telemetryLimits.buckets_max);
  const out: number[] = [];
  let b = start;
  for (let i = 0; i < count; i++) {
    // Rounded to 12 significant digits: 0.1 * 2 * 2 * ... would print as 0.30000000000000004.
    out.push(Number(b.toPrecision(12)));
    b *= factor;
  }
  return out;
}
