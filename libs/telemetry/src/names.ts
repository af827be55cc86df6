import { TelemetryError, TelemetryErrorCode } from './errors.js';

/** Bounds on what a metric declares; checked once, at registration. */
export const name_chars_max = 128;
export const help_chars_max = 512;
export const labels_max = 8;

// Prometheus data model: [a-zA-Z_:][a-zA-Z0-9_:]*. The colon is left out on purpose: the
// Prometheus docs reserve it for recording rules, never for direct instrumentation.
const metricNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export type MetricType = 'counter' | 'gauge' | 'histogram';

// The sample names a histogram adds to its family name; another family must not take them.
export const histogramSuffixes = ['_bucket', '_sum', '_count'] as const;

export function checkMetricName(name: string, type: MetricType): void {
  if (typeof name !== 'string' || !metricNamePattern.test(name) || name.length > name_chars_max) {
    throw new TelemetryError(TelemetryErrorCode.NameInvalid, `metric name ${JSON.stringify(name)} is not [a-zA-Z_][a-zA-Z0-9_]* of at most ${name_chars_max} chars`);
  }
  // Units and _total last: a counter's name says it counts; nothing else may claim to.
  const total = name.endsWith('_total');
  if (type === 'counter' && !total) throw new TelemetryError(TelemetryErrorCode.NameInvalid, `counter ${name} must end in _total`);
  if (type !== 'counter' && total) throw new TelemetryError(TelemetryErrorCode.NameInvalid, `${type} ${name} must not end in _total (only counters do)`);
  if (type === 'histogram' && histogramSuffixes.some((s) => name.endsWith(s))) {
    throw new TelemetryError(TelemetryErrorCode.NameInvalid, `histogram ${name} must not end in ${histogramSuffixes.join(', ')}`);
  }
}

export function checkHelp(name: string, help: string): void {
  if (typeof help !== 'string' || help.length === 0 || help.length > help_chars_max) {
    throw new TelemetryError(TelemetryErrorCode.HelpInvalid, `help of ${name} must be 1..${help_chars_max} chars`);
  }
}

export function checkLabelNames(name: string, labels: readonly string[], type: MetricType): void {
  if (!Array.isArray(labels) || labels.length > labels_max) {
    throw new TelemetryError(TelemetryErrorCode.LabelInvalid, `${name} declares more than ${labels_max} labels`);
  }
  const seen = new Set<string>();
  for (const label of labels) {
    if (typeof label !== 'string' || !labelNamePattern.test(label) || label.length > name_chars_max) {
      throw new TelemetryError(TelemetryErrorCode.LabelInvalid, `label name ${JSON.stringify(label)} of ${name} is not [a-zA-Z_][a-zA-Z0-9_]*`);
    }
    if (label.startsWith('__')) throw new TelemetryError(TelemetryErrorCode.LabelInvalid, `label name ${label} of ${name}: names starting with __ are reserved`);
    if (type === 'histogram' && label === 'le') throw new TelemetryError(TelemetryErrorCode.LabelInvalid, `histogram ${name} cannot declare label le (its buckets use it)`);
    if (seen.has(label)) throw new TelemetryError(TelemetryErrorCode.LabelInvalid, `label ${label} declared twice on ${name}`);
    seen.add(label);
  }
}

export function checkLimit(what: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TelemetryError(TelemetryErrorCode.LimitInvalid, `${what} must be an integer in ${min}..${max}, got ${value}`);
  }
}
