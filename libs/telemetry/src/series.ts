import { TelemetryError, TelemetryErrorCode } from './errors.js';
import { renderLabelPairs } from './format.js';

/** The label value every label of the overflow series takes. */
export const overflowLabelValue = '_overflow';

/** One series as exposed: its rendered label pairs (`a="x",b="y"`, escaped once) and its state. */
export interface SeriesEntry<S> {
  readonly pairs: string;
  readonly series: S;
}

export interface SeriesBounds {
  /** Distinct label-value sets kept; past it, lookups land in the one overflow series. */
  readonly series_max: number;
  /** A longer label value is not kept either: it goes to the overflow series too. */
  readonly label_value_chars_max: number;
}

/**
 * The series of one metric, found by label values without building a key string: one Map level
 * per label, so a lookup of a known series is `labels` Map gets and allocates nothing. Bounded:
 * at most series_max series plus the overflow series, whatever values the caller passes, and a
 * lookup never throws for a value it is given (only for being called with the wrong arity).
 */
export class SeriesSet<S> {
  readonly entries: SeriesEntry<S>[] = [];
  private readonly root = new Map<string, unknown>();
  private readonly single: S | undefined;
  private overflow: S | undefined;

  constructor(
    private readonly metric: string,
    private readonly labelNames: readonly string[],
    private readonly bounds: SeriesBounds,
    private readonly make: () => S,
    private readonly dropped: () => void,
  ) {
    // A metric without labels has exactly one series, exposed from the start (as 0).
    if (labelNames.length === 0) {
      this.single = make();
      this.entries.push({ pairs: '', series: this.single });
    }
  }

  get(values: readonly string[]): S {
    const n = this.labelNames.length;
    if (values.length !== n) {
      throw new TelemetryError(TelemetryErrorCode.LabelValuesInvalid, `${this.metric} takes ${n} label values (${this.labelNames.join(', ')}), got ${values.length}`);
    }
    if (this.single !== undefined) return this.single;
    let node = this.root;
    for (let i = 0; i < n - 1; i++) {
      const next = node.get(values[i] as string) as Map<string, unknown> | undefined;
      if (next === undefined) return this.add(values);
      node = next;
    }
    const found = node.get(values[n - 1] as string) as S | undefined;
    return found === undefined ? this.add(values) : found;
  }

  // The cold path: the first lookup of a label-value set.
  private add(values: readonly string[]): S {
    let overlong = false;
    let allOverflow = true;
    for (const v of values) {
      if (typeof v !== 'string') throw new TelemetryError(TelemetryErrorCode.LabelValuesInvalid, `label values of ${this.metric} must be strings`);
      if (v.length > this.bounds.label_value_chars_max) overlong = true;
      if (v !== overflowLabelValue) allOverflow = false;
    }
    // A caller passing the overflow values itself gets that series: two series with the same
    // labels would be one series twice in the exposition.
    if (allOverflow) return this.overflowSeries();
    if (overlong || this.entries.length - (this.overflow === undefined ? 0 : 1) >= this.bounds.series_max) {
      this.dropped();
      return this.overflowSeries();
    }
    const series = this.make();
    let node = this.root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i] as string) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map<string, unknown>();
        node.set(values[i] as string, next);
      }
      node = next;
    }
    node.set(values[last] as string, series);
    this.entries.push({ pairs: renderLabelPairs(this.labelNames, values), series });
    return series;
  }

  private overflowSeries(): S {
    if (this.overflow === undefined) {
      this.overflow = this.make();
      const values = this.labelNames.map(() => overflowLabelValue);
      this.entries.push({ pairs: renderLabelPairs(this.labelNames, values), series: this.overflow });
    }
    return this.overflow;
  }
}
