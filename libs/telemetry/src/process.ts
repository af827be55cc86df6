import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Registry } from './registry.js';

/** Event-loop delay sampling period: finer costs a timer wake-up that often. */
export const eventloop_resolution_ms = 10;

export interface ProcessMetrics {
  /** Stops the event-loop delay sampler (its timer would otherwise run for the process's life). */
  stop(): void;
}

const ns_per_s = 1e9;
const us_per_s = 1e6;

/**
 * The process figures every Prometheus client exposes, under the names dashboards already use:
 * CPU seconds, resident memory, start time, heap use and the event-loop delay. The delay figures
 * are those since the previous scrape (the sampler is reset after each read, as prom-client
 * does): a max since start would hide every stall after the first one. The price: Node's reset
 * also forgets the sampler's previous tick, so a stall that starts within one resolution period
 * of a scrape is not seen.
 */
export function collectProcessMetrics(registry: Registry): ProcessMetrics {
  registry.counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    read: () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / us_per_s;
    },
  });
  registry.gauge({ name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.', read: () => process.memoryUsage.rss() });
  // timeOrigin is when this process started, in ms since the Unix epoch.
  const start_s = Math.round(performance.timeOrigin) / 1000;
  registry.gauge({ name: 'process_start_time_seconds', help: 'Start time of the process since unix epoch in seconds.', read: () => start_s });
  registry.gauge({ name: 'nodejs_heap_size_used_bytes', help: 'V8 heap in use, in bytes.', read: () => process.memoryUsage().heapUsed });
  const delay = monitorEventLoopDelay({ resolution: eventloop_resolution_ms });
  delay.enable();
  const p99 = registry.gauge({ name: 'nodejs_eventloop_delay_p99_seconds', help: 'Event-loop delay, 99th percentile since the previous scrape, in seconds.' });
  const max = registry.gauge({ name: 'nodejs_eventloop_delay_max_seconds', help: 'Event-loop delay, maximum since the previous scrape, in seconds.' });
  registry.onCollect(() => {
    // No sample yet (a scrape within the first resolution period) reads as 0, not as NaN.
    const sampled = delay.count > 0;
    p99.set(sampled ? delay.percentile(99) / ns_per_s : 0);
    max.set(sampled ? delay.max / ns_per_s : 0);
    delay.reset();
  });
  return { stop: () => delay.disable() };
}
