// A bounded closed-loop HTTP load generator, run in a worker thread so that it does not share the
// server's event loop: `connections` loops, each posting the same body and waiting for the answer,
// for `duration_ms`. Reports requests, non-2xx answers and latency percentiles.
import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

export interface LoadSpec {
  readonly url: string;
  readonly body: string;
  readonly connections: number;
  readonly duration_ms: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
}

function post(agent: Agent, url: URL, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end(body);
  });
}

// Bodies may hold "$N": replaced by a counter so that every request is a new transaction.
async function run(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const latencies: number[] = [];
  let errors = 0;
  let counter = 0;
  const start = performance.now();
  const deadline = start + spec.duration_ms;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      counter += 1;
      const body = spec.body.replaceAll('$N', String(counter));
      const t0 = performance.now();
      const status = await post(agent, url, body).catch(() => 0);
      latencies.push(performance.now() - t0);
      if (status < 200 || status > 299) errors += 1;
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, loop));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { requests: latencies.length, errors, seconds, p50_ms: pct(0.5), p99_ms: pct(0.99) };
}

if (parentPort !== null) {
  const port = parentPort;
  run(workerData as LoadSpec).then(
    (r) => port.postMessage(r),
    (e: unknown) => port.postMessage({ error: String(e) }),
  );
}
