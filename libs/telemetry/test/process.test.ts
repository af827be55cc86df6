import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectProcessMetrics, Registry } from '../src/index.js';
import { parseExposition, sampleValue } from './exposition-parser.js';

// Blocks the event loop on purpose (the delay monitor must see it) until this process has used
// cpu_ms of CPU: on a loaded box a wall-clock spin may get less. Bounded by 5 s of wall time.
function spinCpu(cpu_ms: number): void {
  const cpu0 = process.cpuUsage();
  const until = performance.now() + 5_000;
  while (performance.now() < until) {
    const used = process.cpuUsage(cpu0);
    if ((used.user + used.system) / 1000 >= cpu_ms) return;
  }
}

test('process metrics under their standard names, with values that belong to this process', async () => {
  const r = new Registry();
  const p = collectProcessMetrics(r);
  try {
    // The sampler's first tick only starts its clock: a stall before it would go unseen.
    await sleep(30);
    const f0 = parseExposition(r.expose());
    const cpu0 = sampleValue(f0, 'process_cpu_seconds_total', 'process_cpu_seconds_total');
    // The same after each scrape: Node's reset forgets the sampler's previous tick.
    await sleep(30);
    spinCpu(100);
    await sleep(30);
    const f = parseExposition(r.expose());
    assert.equal(f.get('process_cpu_seconds_total')?.type, 'counter');
    assert.ok(sampleValue(f, 'process_cpu_seconds_total', 'process_cpu_seconds_total') >= cpu0 + 0.1);
    const rss = sampleValue(f, 'process_resident_memory_bytes', 'process_resident_memory_bytes');
    assert.ok(rss > 10e6 && rss < 24e9, String(rss));
    const heap = sampleValue(f, 'nodejs_heap_size_used_bytes', 'nodejs_heap_size_used_bytes');
    assert.ok(heap > 1e6 && heap < rss, String(heap));
    const start = sampleValue(f, 'process_start_time_seconds', 'process_start_time_seconds');
    const uptime_s = process.uptime();
    assert.ok(Math.abs(Date.now() / 1000 - uptime_s - start) < 5, `${start} vs uptime ${uptime_s}`);
    // The spin (at least 100 ms of wall time) is the largest delay since the previous scrape.
    const max = sampleValue(f, 'nodejs_eventloop_delay_max_seconds', 'nodejs_eventloop_delay_max_seconds');
    assert.ok(max >= 0.09 && max < 10, String(max));
    assert.ok(sampleValue(f, 'nodejs_eventloop_delay_p99_seconds', 'nodejs_eventloop_delay_p99_seconds') <= max);
    // And it is reset by the scrape: the next window does not hold that stall (a window without
    // the reset would show at least the same max).
    await sleep(50);
    const again = sampleValue(parseExposition(r.expose()), 'nodejs_eventloop_delay_max_seconds', 'nodejs_eventloop_delay_max_seconds');
    assert.ok(again < max, `${again} after ${max}`);
  } finally {
    p.stop();
  }
});
