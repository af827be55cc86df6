import { TelemetryError, TelemetryErrorCode } from './errors.js';
import { escapeHelp, formatNumber } from './format.js';
import type { MetricType } from './names.js';
import { SeriesSet, type SeriesBounds } from './series.js';

/** One counter series: only goes up. */
export class CounterSeries {
  value = 0;

  inc(by = 1): void {
    // `!(by >= 0)` also refuses NaN, which would poison the total for the process's life.
    if (!(by >= 0)) throw new TelemetryError(TelemetryErrorCode.ValueInvalid, `a counter cannot go up by ${by}`);
    this.value += by;
  }
}

/** One gauge series: any value, set or moved. */
export class GaugeSeries {
  value = 0;

  set(value: number): void {
    this.value = value;
  }

  inc(by = 1): void {
    this.value += by;
  }

  dec(by = 1): void {
    this.value -= by;
  }
}

/**
 * One histogram series. Counts are kept per bucket (not cumulative) so an observation touches one
 * slot; the exposition adds them up. The last slot is +Inf, which also takes NaN (as the Go client
 * does: a NaN observation shows in the count and makes the sum NaN, rather than vanishing).
 */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    // Linear: buckets_max is small, and most observations land in the first few buckets.
    let i = 0;
    while (i < bounds.length && !(value <= (bounds[i] as number))) i++;
    (this.counts[i] as number) += 1;
    this.sum += value;
    this.count += 1;
  }
}

interface Family<S> {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly seriesSet: SeriesSet<S>;
}

function header(f: Family<unknown>, out: string[]): void {
  out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
}

function braces(pairs: string): string {
  return pairs === '' ? '' : `{${pairs}}`;
}

/** The common part of the three metric types: a name, its labels and its bounded series. */
abstract class Metric<S> implements Family<S> {
  readonly seriesSet: SeriesSet<S>;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
    bounds: SeriesBounds,
    make: () => S,
    dropped: () => void,
  ) {
    this.seriesSet = new SeriesSet(name, labelNames, bounds, make, dropped);
  }

  /** The series of these label values (created on first use, or the overflow series past series_max). */
  labels(...values: string[]): S {
    return this.seriesSet.get(values);
  }

  /** Appends this metric's exposition lines to `out`. */
  abstract expose(out: string[]): void;
}

export class Counter extends Metric<CounterSeries> {
  constructor(name: string, help: string, labelNames: readonly string[], bounds: SeriesBounds, dropped: () => void, private readonly read: (() => number) | undefined) {
    super(name, help, 'counter', labelNames, bounds, () => new CounterSeries(), dropped);
  }

  /** Adds to the only series of a counter without labels. */
  inc(by = 1): void {
    this.seriesSet.get([]).inc(by);
  }

  expose(out: string[]): void {
    header(this, out);
    if (this.read !== undefined) this.seriesSet.get([]).value = this.read();
    for (const e of this.seriesSet.entries) out.push(`${this.name}${braces(e.pairs)} ${formatNumber(e.series.value)}`);
  }
}

export class Gauge extends Metric<GaugeSeries> {
  constructor(name: string, help: string, labelNames: readonly string[], bounds: SeriesBounds, dropped: () => void, private readonly read: (() => number) | undefined) {
    super(name, help, 'gauge', labelNames, bounds, () => new GaugeSeries(), dropped);
  }

  set(value: number): void {
    this.only.set(value);
  }

  inc(by = 1): void {
    this.only.inc(by);
  }

  dec(by = 1): void {
    this.only.dec(by);
  }

  private get only(): GaugeSeries {
    return this.labels();
  }

  expose(out: string[]): void {
    header(this, out);
    if (this.read !== undefined) this.seriesSet.get([]).value = this.read();
    for (const e of this.seriesSet.entries) out.push(`${this.name}${braces(e.pairs)} ${formatNumber(e.series.value)}`);
  }
}

export class Histogram extends Metric<HistogramSeries> {
  /** The `le` values, formatted once. */
  private readonly les: readonly string[];

  constructor(name: string, help: string, labelNames: readonly string[], bounds: SeriesBounds, dropped: () => void, readonly buckets: readonly number[]) {
    super(name, help, 'histogram', labelNames, bounds, () => new HistogramSeries(buckets), dropped);
    this.les = [...buckets.map(formatNumber), '+Inf'];
  }

  /** Observes into the only series of a histogram without labels. */
  observe(value: number): void {
    this.seriesSet.get([]).observe(value);
  }

  expose(out: string[]): void {
    header(this, out);
    for (const e of this.seriesSet.entries) {
      const s = e.series;
      const prefix = e.pairs === '' ? '' : `${e.pairs},`;
      let cumulative = 0;
      for (let i = 0; i < this.les.length; i++) {
        cumulative += s.counts[i] as number;
        out.push(`${this.name}_bucket{${prefix}le="${this.les[i] as string}"} ${formatNumber(cumulative)}`);
      }
      out.push(`${this.name}_sum${braces(e.pairs)} ${formatNumber(s.sum)}`, `${this.name}_count${braces(e.pairs)} ${formatNumber(s.count)}`);
    }
  }
}
