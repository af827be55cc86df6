import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { exponentialBuckets, Registry, TelemetryErrorCode } from '../src/index.js';
import { parseExposition, type Sample } from './exposition-parser.js';

const bounds = fc
  .uniqueArray(fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((x) => (x === 0 ? 0 : x)), { minLength: 1, maxLength: 32 })
  .map((xs) => xs.sort((a, b) => a - b))
  .filter((xs) => xs.every((x, i) => i === 0 || x > (xs[i - 1] as number)));

function bucketsOf(samples: readonly Sample[], labels: Record<string, string>): { le: number; count: number }[] {
  return samples
    .filter((s) => s.name.endsWith('_bucket') && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .map((s) => ({ le: Number(s.labels['le']?.replace('+Inf', 'Infinity')), count: s.value }));
}

test('buckets are cumulative, end in +Inf = _count, and match a naive count; _sum is the sum', () => {
  fc.assert(
    fc.property(bounds, fc.array(fc.double({ min: -2e6, max: 2e6, noNaN: true }), { maxLength: 60 }), (buckets, observations) => {
      const r = new Registry();
      const h = r.histogram({ name: 'latency_seconds', help: 'L.', labels: ['route'], buckets });
      // The lookup creates the series, so it is exposed even with no observations.
      const series = h.labels('/r');
      for (const x of observations) series.observe(x);
      const f = parseExposition(r.expose()).get('latency_seconds');
      assert.ok(f !== undefined);
      assert.equal(f.type, 'histogram');
      const got = bucketsOf(f.samples, { route: '/r' });
      assert.deepEqual(
        got.map((b) => b.le),
        [...buckets, Infinity],
      );
      got.forEach((b, i) => {
        // Naive reference: count every observation at or below the bound.
        assert.equal(b.count, observations.filter((x) => x <= b.le).length);
        if (i > 0) assert.ok(b.count >= (got[i - 1] as { count: number }).count);
      });
      const count = f.samples.find((s) => s.name === 'latency_seconds_count')?.value;
      const sum = f.samples.find((s) => s.name === 'latency_seconds_sum')?.value;
      assert.equal(count, observations.length);
      assert.equal(got.at(-1)?.count, count);
      assert.equal(sum, observations.reduce((a, b) => a + b, 0));
    }),
    { numRuns: 200 },
  );
});

test('an observation equal to a bound counts in that bucket (le is inclusive)', () => {
  const r = new Registry();
  const h = r.histogram({ name: 'size_bytes', help: 'S.', buckets: [1, 2, 4] });
  h.observe(2);
  const got = bucketsOf(parseExposition(r.expose()).get('size_bytes')?.samples ?? [], {});
  assert.deepEqual(
    got.map((b) => b.count),
    [0, 1, 1, 1],
  );
});

test('NaN lands in +Inf only and makes the sum NaN; a histogram without labels shows zeros at start', () => {
  const r = new Registry();
  const h = r.histogram({ name: 'd_seconds', help: 'D.', buckets: [0.1, 1] });
  const before = parseExposition(r.expose()).get('d_seconds')?.samples ?? [];
  assert.deepEqual(
    before.map((s) => s.value),
    [0, 0, 0, 0, 0],
  );
  h.observe(NaN);
  const text = r.expose();
  assert.match(text, /^d_seconds_bucket\{le="1"\} 0$/m);
  assert.match(text, /^d_seconds_bucket\{le="\+Inf"\} 1$/m);
  assert.match(text, /^d_seconds_sum NaN$/m);
});

test('bucket bounds are validated: finite, strictly increasing, 1..buckets_max', () => {
  const r = new Registry();
  const cases: unknown[] = [[], [1, 1], [2, 1], [0, Infinity], [NaN], ['1'], Array.from({ length: 33 }, (_, i) => i), undefined];
  cases.forEach((buckets, i) => {
    assert.throws(
      () => r.histogram({ name: `h${i}_seconds`, help: 'H.', buckets: buckets as number[] }),
      (e: unknown) => (e as { code?: string }).code === TelemetryErrorCode.BucketsInvalid,
      JSON.stringify(buckets),
    );
  });
  // The bounds are copied: changing the caller's array later changes nothing.
  const given = [1, 2];
  const h = r.histogram({ name: 'ok_seconds', help: 'H.', buckets: given });
  given[0] = 5;
  assert.deepEqual(h.buckets, [1, 2]);
});

test('exponentialBuckets: start, factor, count, printable bounds', () => {
  assert.deepEqual(exponentialBuckets(0.001, 2, 4), [0.001, 0.002, 0.004, 0.008]);
  assert.deepEqual(exponentialBuckets(0.1, 3, 3), [0.1, 0.3, 0.9]);
  assert.throws(() => exponentialBuckets(0, 2, 3), { code: TelemetryErrorCode.BucketsInvalid });
  assert.throws(() => exponentialBuckets(1, 1, 3), { code: TelemetryErrorCode.BucketsInvalid });
  assert.throws(() => exponentialBuckets(1, 2, 33), { code: TelemetryErrorCode.LimitInvalid });
});
