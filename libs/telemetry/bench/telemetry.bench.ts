// The cost of one observation on the request path, against baselines measured in the same run:
// a plain object field increment (the floor), and the naive labelled counter (a key string joined
// from the label values, then a Map lookup), which is what this package avoids.
//   npm run bench -w @cairn/telemetry     (CAIRN_BENCH_OPS=2000000)
import { Registry } from '../src/index.js';

const ops = Number(process.env['CAIRN_BENCH_OPS'] ?? 2_000_000);
const routes = ['/v1/transactions', '/v1/transactions/batch', '/healthz', '/metrics'];
const codes = ['200', '400', '409', '503'];
let sink = 0;

function time(run: (i: number) => void): number {
  for (let i = 0; i < ops / 10; i++) run(i); // warm-up: let the JIT settle before the clock runs
  const start = performance.now();
  for (let i = 0; i < ops; i++) run(i);
  return ((performance.now() - start) * 1e6) / ops;
}

function main(): void {
  const plain = { value: 0 };
  const naive = new Map<string, { value: number }>();
  const r = new Registry();
  const counter = r.counter({ name: 'req_total', help: 'h', labels: ['route', 'method', 'code'] });
  const histogram = r.histogram({ name: 'dur_seconds', help: 'h', labels: ['route'], buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1, 2, 4, 8, 16, 32] });
  const results: [string, number][] = [];
  results.push(['baseline: object field += 1', time(() => (plain.value += 1))]);
  results.push([
    'baseline: naive joined key + Map',
    time((i) => {
      const key = [routes[i & 3], 'POST', codes[(i >> 2) & 3]].join('\u0000');
      let s = naive.get(key);
      if (s === undefined) naive.set(key, (s = { value: 0 }));
      s.value += 1;
    }),
  ]);
  results.push(['counter.labels(route, method, code).inc()', time((i) => counter.labels(routes[i & 3] as string, 'POST', codes[(i >> 2) & 3] as string).inc())]);
  results.push(['histogram.labels(route).observe(s)', time((i) => histogram.labels(routes[i & 3] as string).observe((i & 1023) / 10_000))]);
  const kept = histogram.labels('/v1/transactions');
  results.push(['kept histogram series .observe(s)', time((i) => kept.observe((i & 1023) / 10_000))]);
  const naiveNs = results[1]?.[1] as number;
  console.log(`${ops} ops per case; ns per op, and as a ratio of the naive joined-key counter`);
  for (const [name, ns] of results) console.log(`${name.padEnd(44)} ${ns.toFixed(1).padStart(7)} ns  x${(ns / naiveNs).toFixed(2)}`);
  const start = performance.now();
  const text = r.expose();
  sink += text.length;
  console.log(`expose() of ${counter.seriesSet.entries.length} counter + ${histogram.seriesSet.entries.length} histogram series: ${(performance.now() - start).toFixed(2)} ms, ${text.length} chars`);
  if (sink < 0) console.log(sink);
}

main();
