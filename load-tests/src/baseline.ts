// The baseline measured in the same run: the same generator (same clients, same keep-alive
// sockets, a checkout-sized body) against a bare node:http server that reads the body and answers
// a fixed receipt. The server runs in a worker thread so that it does not share the generator's
// event loop. The ledger's figures are read as a ratio of this one.
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { Budget, closedLoop } from './drive.js';
import { JsonPoster } from './http.js';
import { LoadStats, type StatsSummary } from './stats.js';

/** The baseline's load phase is at most this long, whatever the scenario's duration. */
export const BASELINE_MS_MAX = 5_000;

const SERVER = `
const { createServer } = require('node:http');
const { parentPort } = require('node:worker_threads');
const answer = JSON.stringify({ id: 'x', status: 'committed', records: [{ key: '{s}:k', version: 1, shard: 0, leafIndex: 0 }], shards: [{ shard: 0, size: 1, root: 'AAAA' }] });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(answer));
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

export interface BaselineOptions {
  readonly clients: number;
  readonly duration_ms: number;
  readonly requests_max: number;
  readonly request_ms_max: number;
}

export async function measureBaseline(o: BaselineOptions): Promise<StatsSummary> {
  const worker = new Worker(SERVER, { eval: true });
  try {
    const [port] = (await once(worker, 'message')) as [number];
    const poster = new JsonPoster(`http://127.0.0.1:${port}`, o.clients, o.request_ms_max);
    const stats = new LoadStats();
    const budget = new Budget(Math.min(o.duration_ms, BASELINE_MS_MAX), o.requests_max);
    const seconds = await closedLoop(o.clients, budget, async (client, n) => {
      if (!budget.take()) return;
      const answer = await poster.post('/v1/transactions', body(client, n));
      stats.record(answer);
      if (answer.status === 200) stats.committed += 1;
    });
    poster.close();
    return stats.summary(seconds);
  } finally {
    await worker.terminate();
  }
}

/** A body shaped like a checkout transaction, so both sides serialize and send the same bytes. */
function body(client: number, n: number): unknown {
  const tag = `{baseline-shop${client % 4}}`;
  return {
    id: `baseline.${client}.${n}.0`,
    records: [
      { key: `${tag}:order:${client}.${n}`, value: { sku: `${tag}:stock:sku0`, units: 2, total_cents: 2_500 }, expect: { absent: true } },
      { key: `${tag}:payment:${client}.${n}`, value: { amount_cents: 2_500, method: 'card' } },
      { key: `${tag}:stock:sku0`, value: { qty: 999_999_998 }, expect: { version: 7 } },
    ],
    meta: { scenario: 'checkout', client, order: n },
  };
}
