// The shard's only HTTP surface: a scrape listener for operators (docs/design/shard.md, "Metrics").
// GET /metrics is the Prometheus text, GET /healthz a small JSON status; everything else is the
// project's JSON error shape. It binds only where metrics_listen says, and never takes a body.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { boundConnections } from '@cairn/config';
import { CairnError, errorBody } from '@cairn/wire';
import type { ListenAddress } from './config.js';

export interface MetricsHttpOptions {
  readonly address: ListenAddress;
  readonly connections_max: number;
  /** The exposition text; may refresh figures first (bounded by its own deadline). */
  readonly scrape: () => Promise<string>;
  readonly content_type: string;
  /** /healthz: ok = 200, else 503; `detail` is merged into the body. */
  readonly health: () => { readonly ok: boolean; readonly detail: object };
}

export interface MetricsHttp {
  /** http://host:port of the bound listener (the port chosen when metrics_listen asked for 0). */
  readonly url: string;
  /** Connections closed unanswered because connections_max were open. */
  dropped(): number;
  /** Stops listening and cuts open connections (a scraper retries on its next interval). */
  close(): Promise<void>;
}

// A scrape is small and quick: a client slower than this holds a connection slot for nothing.
const REQUEST_MS_MAX = 10_000;
const HEADERS_MS_MAX = 5_000;
const KEEP_ALIVE_MS = 5_000;
/** Longer targets are refused before they are looked at. */
const URL_BYTES_MAX = 2_048;

export async function listenMetrics(o: MetricsHttpOptions): Promise<MetricsHttp> {
  let dropped = 0;
  const server = createServer((req, res) => {
    req.resume();
    answer(req, res, o, () => dropped).catch((error: unknown) => {
      sendError(res, error instanceof CairnError ? error : new CairnError('internal', 'scrape failed', { cause: error }));
    });
  });
  server.requestTimeout = REQUEST_MS_MAX;
  server.headersTimeout = HEADERS_MS_MAX;
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  boundConnections(server, o.connections_max, () => {
    dropped += 1;
  });
  await listen(server, o.address);
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${bound.port}`,
    dropped: () => dropped,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function listen(server: Server, address: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function answer(req: IncomingMessage, res: ServerResponse, o: MetricsHttpOptions, dropped: () => number): Promise<void> {
  const target = req.url ?? '/';
  if (target.length > URL_BYTES_MAX) throw new CairnError('bad_query', `request target longer than ${URL_BYTES_MAX} bytes`);
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (path !== '/metrics' && path !== '/healthz') throw new CairnError('not_found', `no route ${path}; this listener serves /metrics and /healthz`);
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new CairnError('method_not_allowed', `${req.method ?? '?'} is not allowed; GET only`);
  if (path === '/metrics') {
    send(res, 200, o.content_type, await o.scrape(), req.method === 'HEAD');
    return;
  }
  const h = o.health();
  send(res, h.ok ? 200 : 503, 'application/json', JSON.stringify({ ok: h.ok, ...h.detail, connections_dropped: dropped() }), req.method === 'HEAD');
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headOnly: boolean): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(headOnly ? undefined : body);
}

function sendError(res: ServerResponse, error: CairnError): void {
  if (error.status === 405) res.setHeader('allow', 'GET, HEAD');
  send(res, error.status, 'application/json', JSON.stringify({ error: errorBody(error) }), false);
}
