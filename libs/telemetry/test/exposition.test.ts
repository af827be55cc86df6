import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { escapeHelp, escapeLabelValue, formatNumber, prometheusContentType, Registry, seriesDroppedMetricName } from '../src/index.js';
import { parseExposition, sampleValue } from './exposition-parser.js';

test('the content type is the one scrapers negotiate for format 0.0.4', () => {
  assert.equal(prometheusContentType, 'text/plain; version=0.0.4; charset=utf-8');
});

test('numbers: the non-finite ones spelled as Go parses them, finite ones round-trip', () => {
  assert.equal(formatNumber(Infinity), '+Inf');
  assert.equal(formatNumber(-Infinity), '-Inf');
  assert.equal(formatNumber(NaN), 'NaN');
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
      assert.equal(Number(formatNumber(x)), x === 0 ? 0 : x);
    }),
  );
});

test('escaping: the three label-value escapes and the two HELP escapes', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeHelp('a\\b"c\nd'), 'a\\\\b"c\\nd');
});

test('HELP text with a carriage return or a line separator round-trips (a seed found them)', () => {
  for (const help of ['a\rb', 'x\u2028y', '\r\n', '\u2029']) {
    const r = new Registry();
    r.counter({ name: 'x_total', help }).inc();
    assert.equal(parseExposition(r.expose()).get('x_total')?.help, help, JSON.stringify(help));
  }
});

test('any label value and HELP text round-trips through the exposition', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), (value, help) => {
      const r = new Registry({ label_value_chars_max: 128 });
      r.counter({ name: 'x_total', help, labels: ['v', 'w'] }).labels(value, 'fixed').inc(3);
      const f = parseExposition(r.expose());
      assert.equal(f.get('x_total')?.help, help);
      assert.equal(sampleValue(f, 'x_total', 'x_total', { v: value, w: 'fixed' }), 3);
    }),
    { numRuns: 300 },
  );
});

test('an exposition lists HELP and TYPE per family, in registration order, and nothing else', () => {
  const r = new Registry();
  const c = r.counter({ name: 'requests_total', help: 'Requests.', labels: ['route', 'code'] });
  const g = r.gauge({ name: 'queue_depth', help: 'Depth.' });
  r.gauge({ name: 'size_bytes', help: 'Size.', read: () => 42 });
  c.labels('/a', '200').inc();
  c.labels('/a', '200').inc(2);
  c.labels('/b', '503').inc();
  g.set(7);
  g.inc(3);
  g.dec();
  const text = r.expose();
  const f = parseExposition(text);
  assert.deepEqual([...f.keys()], [seriesDroppedMetricName, 'requests_total', 'queue_depth', 'size_bytes']);
  assert.deepEqual(
    [...f.values()].map((x) => x.type),
    ['counter', 'counter', 'gauge', 'gauge'],
  );
  assert.equal(sampleValue(f, 'requests_total', 'requests_total', { route: '/a', code: '200' }), 3);
  assert.equal(sampleValue(f, 'requests_total', 'requests_total', { route: '/b', code: '503' }), 1);
  assert.equal(sampleValue(f, 'queue_depth', 'queue_depth'), 9);
  assert.equal(sampleValue(f, 'size_bytes', 'size_bytes'), 42);
  // Nothing dropped: the dropped counter has no series yet.
  assert.equal(f.get(seriesDroppedMetricName)?.samples.length, 0);
  assert.ok(text.includes('requests_total{route="/a",code="200"} 3\n'), text);
});

test('read callbacks and collect hooks run at every scrape, not before', () => {
  const r = new Registry();
  let depth = 1;
  let hookRuns = 0;
  const labelled = r.gauge({ name: 'depth_by_queue', help: 'Depth by queue.', labels: ['queue'] });
  r.gauge({ name: 'depth', help: 'Depth.', read: () => depth });
  r.counter({ name: 'done_total', help: 'Done.', read: () => depth * 10 });
  r.onCollect(() => {
    hookRuns += 1;
    labelled.labels('q').set(depth + 100);
  });
  assert.equal(hookRuns, 0);
  depth = 5;
  const f = parseExposition(r.expose());
  assert.equal(hookRuns, 1);
  assert.equal(sampleValue(f, 'depth', 'depth'), 5);
  assert.equal(sampleValue(f, 'done_total', 'done_total'), 50);
  assert.equal(sampleValue(f, 'depth_by_queue', 'depth_by_queue', { queue: 'q' }), 105);
  depth = 6;
  assert.equal(sampleValue(parseExposition(r.expose()), 'depth', 'depth'), 6);
  assert.equal(hookRuns, 2);
});

test('gauges carry non-finite values as +Inf, -Inf and NaN', () => {
  const r = new Registry();
  const g = r.gauge({ name: 'g', help: 'G.', labels: ['k'] });
  g.labels('a').set(Infinity);
  g.labels('b').set(-Infinity);
  g.labels('c').set(NaN);
  const text = r.expose();
  assert.match(text, /^g\{k="a"\} \+Inf$/m);
  assert.match(text, /^g\{k="b"\} -Inf$/m);
  assert.match(text, /^g\{k="c"\} NaN$/m);
  assert.ok(Number.isNaN(sampleValue(parseExposition(text), 'g', 'g', { k: 'c' })));
});

test('the parser used above refuses what the format does not allow', () => {
  const bad = [
    'x 1', // no final line feed
    '# HELP x a\n# HELP x b\nx 1\n',
    '# TYPE x counter\nx 1\n# TYPE y gauge\ny 1\nx 2\n',
    'x{a="1",a="2"} 1\n',
    'x{a="\\t"} 1\n',
    'x{a="1",} 1\n',
    'x 1 1700000000\n',
    '\n',
    '# a comment\n',
    'x 1\nx 2\n',
  ];
  for (const text of bad) assert.throws(() => parseExposition(text), Error, JSON.stringify(text));
  assert.equal(parseExposition('# TYPE x gauge\nx{a="\\\\\\"\\n"} -Inf\n').get('x')?.samples[0]?.labels['a'], '\\"\n');
});
