// The Prometheus text exposition format 0.0.4: what a scraper (Prometheus, an OpenTelemetry
// collector's prometheus receiver, VictoriaMetrics) parses. Only the pieces this package writes.

/** The Content-Type of an exposition, as scrapers negotiate it. */
export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';

/** Sample values and `le` bounds: Go's ParseFloat spellings for the three non-finite values. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** A label value between double quotes: backslash, double quote and line feed are escaped. */
export function escapeLabelValue(value: string): string {
  // Most values (route templates, status codes) need nothing: skip the three replaces for them.
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed are escaped (a double quote is not, per the format). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `a="x",b="y"`: the label pairs of a series, rendered once when the series is created. */
export function renderLabelPairs(names: readonly string[], values: readonly string[]): string {
  const pairs: string[] = [];
  for (let i = 0; i < names.length; i++) pairs.push(`${names[i] as string}="${escapeLabelValue(values[i] as string)}"`);
  return pairs.join(',');
}
