import assert from 'node:assert/strict';
import { test } from 'node:test';
import { overflowLabelValue, Registry, seriesDroppedMetricName, TelemetryError, TelemetryErrorCode } from '../src/index.js';
import { parseExposition, sampleValue } from './exposition-parser.js';

test('past series_max, new label sets share the _overflow series and are counted as dropped', () => {
  const r = new Registry();
  const c = r.counter({ name: 'req_total', help: 'R.', labels: ['route', 'code'], series_max: 3 });
  for (let i = 0; i < 10; i++) c.labels(`/r${i}`, '200').inc(i + 1);
  // A kept series still takes observations after the bound was reached.
  c.labels('/r0', '200').inc(100);
  const f = parseExposition(r.expose());
  const samples = f.get('req_total')?.samples ?? [];
  assert.equal(samples.length, 4);
  assert.equal(sampleValue(f, 'req_total', 'req_total', { route: '/r0', code: '200' }), 101);
  assert.equal(sampleValue(f, 'req_total', 'req_total', { route: '/r2', code: '200' }), 3);
  // 4 + 5 + ... + 10 went to the overflow series.
  assert.equal(sampleValue(f, 'req_total', 'req_total', { route: overflowLabelValue, code: overflowLabelValue }), 49);
  assert.equal(sampleValue(f, seriesDroppedMetricName, seriesDroppedMetricName, { metric: 'req_total' }), 7);
});

test('overflow holds for gauges and histograms, and for overlong label values', () => {
  const r = new Registry({ label_value_chars_max: 8 });
  const g = r.gauge({ name: 'g', help: 'G.', labels: ['k'], series_max: 1 });
  const h = r.histogram({ name: 'h_seconds', help: 'H.', labels: ['k'], buckets: [1], series_max: 2 });
  g.labels('a').set(1);
  g.labels('b').set(2);
  h.labels('a').observe(0.5);
  h.labels('x'.repeat(9)).observe(0.5);
  h.labels('x'.repeat(8)).observe(2);
  const f = parseExposition(r.expose());
  assert.equal(sampleValue(f, 'g', 'g', { k: 'a' }), 1);
  assert.equal(sampleValue(f, 'g', 'g', { k: overflowLabelValue }), 2);
  assert.equal(sampleValue(f, 'h_seconds', 'h_seconds_count', { k: overflowLabelValue }), 1);
  assert.equal(sampleValue(f, 'h_seconds', 'h_seconds_count', { k: 'x'.repeat(8) }), 1);
  assert.equal(sampleValue(f, seriesDroppedMetricName, seriesDroppedMetricName, { metric: 'g' }), 1);
  assert.equal(sampleValue(f, seriesDroppedMetricName, seriesDroppedMetricName, { metric: 'h_seconds' }), 1);
});

test('the series count never grows past series_max + 1, whatever is observed', () => {
  const r = new Registry();
  const c = r.counter({ name: 'c_total', help: 'C.', labels: ['k'], series_max: 5 });
  for (let i = 0; i < 2000; i++) c.labels(String(i)).inc();
  assert.equal(c.seriesSet.entries.length, 6);
  assert.equal(sampleValue(parseExposition(r.expose()), seriesDroppedMetricName, seriesDroppedMetricName, { metric: 'c_total' }), 1995);
});

test('label values that are all _overflow name the overflow series itself, not a second one', () => {
  const r = new Registry();
  const c = r.counter({ name: 'c_total', help: 'C.', labels: ['k'], series_max: 1 });
  c.labels(overflowLabelValue).inc();
  c.labels('a').inc();
  c.labels('b').inc();
  const f = parseExposition(r.expose());
  assert.equal(sampleValue(f, 'c_total', 'c_total', { k: overflowLabelValue }), 2);
  assert.equal(sampleValue(f, seriesDroppedMetricName, seriesDroppedMetricName, { metric: 'c_total' }), 1);
});

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TelemetryError, String(e));
    assert.ok(e.message.startsWith(`${e.code}: `));
    return e.code;
  }
  return undefined;
}

test('registration is validated, each refusal with its stable code', () => {
  const r = new Registry();
  const C = TelemetryErrorCode;
  const cases: [() => unknown, string][] = [
    [() => r.counter({ name: '1bad_total', help: 'x' }), C.NameInvalid],
    [() => r.counter({ name: 'a:b_total', help: 'x' }), C.NameInvalid],
    [() => r.counter({ name: 'no_suffix', help: 'x' }), C.NameInvalid],
    [() => r.gauge({ name: 'g_total', help: 'x' }), C.NameInvalid],
    [() => r.histogram({ name: 'h_count', help: 'x', buckets: [1] }), C.NameInvalid],
    [() => r.gauge({ name: 'g'.repeat(129), help: 'x' }), C.NameInvalid],
    [() => r.gauge({ name: 'g', help: '' }), C.HelpInvalid],
    [() => r.gauge({ name: 'g', help: 'x'.repeat(513) }), C.HelpInvalid],
    [() => r.gauge({ name: 'g', help: 'x', labels: ['a-b'] }), C.LabelInvalid],
    [() => r.gauge({ name: 'g', help: 'x', labels: ['__a'] }), C.LabelInvalid],
    [() => r.gauge({ name: 'g', help: 'x', labels: ['a', 'a'] }), C.LabelInvalid],
    [() => r.gauge({ name: 'g', help: 'x', labels: Array.from({ length: 9 }, (_, i) => `l${i}`) }), C.LabelInvalid],
    [() => r.histogram({ name: 'h', help: 'x', labels: ['le'], buckets: [1] }), C.LabelInvalid],
    [() => r.gauge({ name: 'g', help: 'x', series_max: 0 }), C.LimitInvalid],
    [() => r.gauge({ name: 'g', help: 'x', series_max: 1.5 }), C.LimitInvalid],
    [() => r.gauge({ name: 'g', help: 'x', labels: ['a'], read: () => 1 }), C.OptionsInvalid],
    [() => new Registry({ metrics_max: 0 }), C.LimitInvalid],
    [() => new Registry({ label_value_chars_max: 1e9 }), C.LimitInvalid],
  ];
  for (const [fn, want] of cases) assert.equal(code(fn), want, fn.toString());
  // None of the refused ones took a name: a valid one by the same name registers fine.
  r.gauge({ name: 'g', help: 'x' });
});

test('duplicate registration is refused, including a histogram sample name', () => {
  const r = new Registry();
  r.counter({ name: 'a_total', help: 'x' });
  r.histogram({ name: 'lat_seconds', help: 'x', buckets: [1] });
  r.gauge({ name: 'q_count', help: 'x' });
  assert.equal(code(() => r.counter({ name: 'a_total', help: 'x' })), TelemetryErrorCode.Duplicate);
  assert.equal(code(() => r.gauge({ name: 'lat_seconds_sum', help: 'x' })), TelemetryErrorCode.Duplicate);
  assert.equal(code(() => r.histogram({ name: 'q', help: 'x', buckets: [1] })), TelemetryErrorCode.Duplicate);
  assert.equal(code(() => r.counter({ name: 'cairn_telemetry_series_dropped_total', help: 'x' })), TelemetryErrorCode.Duplicate);
});

test('a registry holds metrics_max metrics besides its own', () => {
  const r = new Registry({ metrics_max: 2 });
  r.gauge({ name: 'a', help: 'x' });
  r.gauge({ name: 'b', help: 'x' });
  assert.equal(code(() => r.gauge({ name: 'c', help: 'x' })), TelemetryErrorCode.RegistryFull);
});

test('observations called wrongly throw: arity, non-string values, a counter going down', () => {
  const r = new Registry();
  const c = r.counter({ name: 'c_total', help: 'x', labels: ['a', 'b'] });
  assert.equal(code(() => c.labels('x')), TelemetryErrorCode.LabelValuesInvalid);
  assert.equal(code(() => c.inc()), TelemetryErrorCode.LabelValuesInvalid);
  assert.equal(code(() => c.labels('x', 200 as unknown as string)), TelemetryErrorCode.LabelValuesInvalid);
  assert.equal(code(() => c.labels('x', 'y').inc(-1)), TelemetryErrorCode.ValueInvalid);
  assert.equal(code(() => c.labels('x', 'y').inc(NaN)), TelemetryErrorCode.ValueInvalid);
  assert.equal(sampleValue(parseExposition(r.expose()), 'c_total', 'c_total', { a: 'x', b: 'y' }), 0);
});
