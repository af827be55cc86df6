// The HTTP read-and-verify API on bare node:http. Routes and shapes: docs/design/proofs.md.
// A bounded number of requests run at once; beyond it the answer is 503 + Retry-After at once,
// never a queue. Every error body is the @cairn/wire table's { error: { code, message } }.
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import { boundConnections, createHttpServer, type TlsFiles } from '@cairn/config';
import { prometheusContentType } from '@cairn/telemetry';
import { CairnError, errorBody } from '@cairn/wire';
import type { Answers } from './answers.js';
import { otherRoute, ProofMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import type { SignedHead } from './sealer.js';

export interface HttpOptions {
  readonly origin: string;
  /** Access-Control-Allow-Origin value, or '' for none. */
  readonly cors_allow_origin?: string;
  readonly requests_inflight_max: number;
  readonly retry_after_s: number;
  readonly answers: Answers;
  readonly signed: () => SignedHead;
  readonly health: () => { ok: boolean; detail: object };
  /** Longest time one request holds an in-flight slot, writing the answer included (default ANSWER_MS_MAX_DEFAULT). */
  readonly answer_ms_max?: number;
  /** Open HTTP connections; past it a new one is closed at once, unanswered (default CONNECTIONS_MAX_DEFAULT). */
  readonly connections_max?: number;
  /** Where requests are counted and GET /metrics reads from; a fresh set (stopped with the server) when not given. */
  readonly metrics?: ProofMetrics;
  /** HTTPS with this certificate and key; plain HTTP when undefined. */
  readonly tls?: TlsFiles;
  /** The longest key read (as the answers' key_bytes_max): the request target must have room for it. */
  readonly key_bytes_max?: number;
}

/**
 * A response that carries what its request is measured by: the route template and the stable code
 * of the error it answered. Fields declared on the class keep every response one hidden class.
 */
class MeteredResponse extends ServerResponse {
  route = otherRoute;
  errorCode: string | undefined = undefined;
  retried = false;
}

/** The connections_max of a server whose options do not name one (the proof config's default too). */
export const CONNECTIONS_MAX_DEFAULT = 1_000;

/** What /healthz shows of the HTTP layer. connections_dropped: connections closed unanswered at connections_max. */
interface HttpFigures {
  connections_dropped: number;
}

/**
 * A slot is given back when the answer is written out, and a client that stops reading never lets
 * that happen (a long history fills the socket buffers): without a deadline, requests_inflight_max
 * such clients would hold every slot for good. requestTimeout does not help, it ends once the
 * request is read.
 */
export const ANSWER_MS_MAX_DEFAULT = 60_000;

/**
 * The longest request target parsed: a key of key_bytes_max bytes URL-encoded (3 characters a
 * byte at most), the route around it and a query; never below 8 KiB.
 */
export function urlBytesMax(key_bytes_max: number): number {
  return Math.max(8_192, 3 * key_bytes_max + 512);
}
const SIZE_PATTERN = /^[1-9][0-9]*$/;
/** At most 9 digits: far above any shard count, and never past 2^53. */
const SHARD_PATTERN = /^(0|[1-9][0-9]{0,8})$/;

export function createProofServer(o: HttpOptions): Server {
  const answerMs = o.answer_ms_max ?? ANSWER_MS_MAX_DEFAULT;
  if (!Number.isSafeInteger(answerMs) || answerMs < 1) throw new RangeError(`answer_ms_max must be a positive integer, got ${answerMs}`);
  const connectionsMax = o.connections_max ?? CONNECTIONS_MAX_DEFAULT;
  if (!Number.isSafeInteger(connectionsMax) || connectionsMax < 1) throw new RangeError(`connections_max must be a positive integer, got ${connectionsMax}`);
  const figures: HttpFigures = { connections_dropped: 0 };
  let inFlight = 0;
  const metrics = o.metrics ?? new ProofMetrics();
  metrics.watchHttp(() => inFlight);
  const count = (req: IncomingMessage, res: MeteredResponse, started_ms: number): void => {
    metrics.http.answered(res.route, req.method, res.statusCode, res.headersSent, res.errorCode, res.retried, (performance.now() - started_ms) / 1000);
  };
  const server = createHttpServer(o.tls, { ServerResponse: MeteredResponse }, (req, res) => {
    const started_ms = performance.now();
    res.route = routeOf(req.url ?? '/');
    // The read API takes no body. One sent anyway would be read and dropped after the answer,
    // with no bound but requestTimeout, on a kept-alive connection: close it instead.
    if (hasBody(req)) res.setHeader('connection', 'close');
    req.resume();
    // Every answer is public and verified by the client, so any page may read it (the SDK runs in
    // browsers); Retry-After must be readable there too.
    if (o.cors_allow_origin !== undefined && o.cors_allow_origin !== '') {
      res.setHeader('access-control-allow-origin', o.cors_allow_origin);
      res.setHeader('access-control-expose-headers', 'retry-after');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { allow: 'GET, HEAD, OPTIONS', 'access-control-allow-methods': 'GET, HEAD', 'access-control-allow-headers': 'accept', 'access-control-max-age': '600' });
      res.end();
      count(req, res, started_ms);
      return;
    }
    // Probes answer whatever the load: a health check refused for load gets a busy server restarted.
    if (req.url === '/healthz' || req.url === '/metrics') {
      res.on('close', () => count(req, res, started_ms));
      route(req, res, o, figures, metrics, new AbortController()).catch((error: unknown) => sendError(res, toCairnError(error), o));
      return;
    }
    if (inFlight >= o.requests_inflight_max) {
      sendError(res, new CairnError('backpressure', `${o.requests_inflight_max} requests in flight`, { retryAfterSeconds: o.retry_after_s }), o);
      count(req, res, started_ms);
      return;
    }
    // The slot is held until the answer's work has settled AND the response is closed: a client
    // that disconnects early must not free a slot while the shard reads it started still run
    // (else requests_inflight_max bounds nothing). Its work is cancelled instead.
    inFlight += 1;
    let holders = 2;
    const release = (): void => {
      holders -= 1;
      if (holders === 0) inFlight -= 1;
    };
    const cancel = new AbortController();
    const deadline = setTimeout(() => {
      expire(res, answerMs, o);
      cancel.abort();
    }, answerMs);
    // Aborting builds a DOMException with a stack: ~8% of a proven read's CPU when done on every
    // close. Only work still running has anything to cancel, and an ended response means its work
    // is done (writing it is the work's last step; the deadline, which ends it early, aborts itself).
    // `settled` alone is not enough: 'close' is a nextTick, which runs before the promise chain.
    let settled = false;
    res.on('close', () => {
      clearTimeout(deadline);
      if (!settled && !res.writableEnded) cancel.abort();
      release();
      count(req, res, started_ms);
    });
    route(req, res, o, figures, metrics, cancel)
      .catch((error: unknown) => sendError(res, toCairnError(error), o))
      .finally(() => {
        settled = true;
        release();
      });
  });
  // Reads have no body worth waiting for; a slow client must not hold a slot for long.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  // requests_inflight_max bounds the work, not the sockets (idle kept-alive connections, half-sent
  // requests): past connections_max a new socket is closed unanswered.
  boundConnections(server, connectionsMax, () => {
    figures.connections_dropped += 1;
    metrics.http.connectionsDropped.inc();
  });
  if (o.metrics === undefined) server.once('close', () => metrics.stop());
  // The server hands out MeteredResponses; its callers only need a Server.
  return server as unknown as Server;
}

/**
 * The route template of a request target, as the OpenAPI document names it, for metric labels:
 * never the raw path (keys and ids are unbounded). Mirrors route() below; `other` for the rest.
 */
export function routeOf(target: string): string {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (exactRoutes.has(path)) return path;
  const under = (prefix: string): string[] | undefined => (path.startsWith(prefix) ? path.slice(prefix.length).split('/') : undefined);
  const keys = under('/v1/keys/');
  if (keys !== undefined) {
    if (keys.length === 1) return '/v1/keys/{key}';
    if (keys.length === 2 && keys[1] === 'history') return '/v1/keys/{key}/history';
    return otherRoute;
  }
  if (under('/v1/transactions/')?.length === 1) return '/v1/transactions/{id}';
  const shards = under('/v1/shards/');
  if (shards?.length === 2 && shards[1] === 'consistency') return '/v1/shards/{shard}/consistency';
  return otherRoute;
}

const exactRoutes = new Set(['/healthz', '/openapi.json', '/metrics', '/v1/checkpoint', '/v1/consistency']);


async function route(req: IncomingMessage, res: ServerResponse, o: HttpOptions, figures: HttpFigures, metrics: ProofMetrics, cancel: AbortController): Promise<void> {
  // `cancel.signal` is made on first use (Node builds it lazily): only the routes that pass it on pay for it.
  const target = req.url ?? '/';
  const targetMax = urlBytesMax(o.key_bytes_max ?? 1_024);
  if (target.length > targetMax) throw new CairnError('bad_query', `request target longer than ${targetMax} bytes`);
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new CairnError('method_not_allowed', `${req.method ?? '?'} is not allowed; the read API is GET only`);
  const head = o.signed();

  if (path === '/healthz') {
    const h = o.health();
    if (!h.ok) res.setHeader('retry-after', String(o.retry_after_s));
    sendJson(res, h.ok ? 200 : 503, { ok: h.ok, size: head.size, ...figures, ...h.detail });
    return;
  }
  if (path === '/openapi.json') return sendJson(res, 200, openApiDocument());
  // Prometheus text; answered while epochs fail too (that is when it is most wanted).
  if (path === '/metrics') {
    const text = metrics.registry.expose();
    res.writeHead(200, { 'content-type': prometheusContentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
    return;
  }
  if (path === '/v1/checkpoint') {
    if (wantsJson(req)) return sendJson(res, 200, o.answers.checkpoint(head, o.origin));
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(head.note);
    return;
  }
  if (path.startsWith('/v1/keys/')) {
    // Split the raw path before decoding: a key may hold "/" (sent as %2F).
    const parts = path.slice('/v1/keys/'.length).split('/');
    const key = decodeSegment(parts[0] ?? '', 'key');
    const at = optionalSize(query, 'at');
    if (parts.length === 1) return sendJson(res, 200, await o.answers.key(head, key, at));
    if (parts.length === 2 && parts[1] === 'history') return sendJson(res, 200, await o.answers.history(head, key, at, cancel.signal));
  }
  if (path.startsWith('/v1/transactions/')) {
    const parts = path.slice('/v1/transactions/'.length).split('/');
    if (parts.length === 1) return sendJson(res, 200, await o.answers.transaction(head, decodeSegment(parts[0] ?? '', 'id'), cancel.signal));
  }
  if (path === '/v1/consistency') {
    const from = requiredSize(query, 'from');
    return sendJson(res, 200, await o.answers.consistency(head, from, optionalSize(query, 'to')));
  }
  if (path.startsWith('/v1/shards/')) {
    const parts = path.slice('/v1/shards/'.length).split('/');
    if (parts.length === 2 && parts[1] === 'consistency') {
      const shard = shardIndex(parts[0] ?? '');
      const from = requiredSize(query, 'from');
      const to = requiredSize(query, 'to');
      return sendJson(res, 200, await o.answers.shardConsistency(head, shard, from, to, cancel.signal));
    }
  }
  throw new CairnError('not_found', `no route ${path}`);
}

/** A shard is named by its decimal index; anything else names no shard (404, like an index past the count). */
function shardIndex(raw: string): number {
  if (!SHARD_PATTERN.test(raw)) throw new CairnError('not_found', 'no such shard', { path: 'shard' });
  return Number(raw);
}

function requiredSize(query: URLSearchParams, name: string): number {
  const n = optionalSize(query, name);
  if (n === undefined) throw new CairnError('bad_query', `${name} is required`, { path: name });
  return n;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function wantsJson(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').toLowerCase().includes('application/json');
}

function decodeSegment(raw: string, what: string): string {
  if (raw === '') throw new CairnError('bad_query', `${what} is empty`, { path: what });
  try {
    return decodeURIComponent(raw);
  } catch (cause) {
    throw new CairnError('bad_query', `${what} is not valid URL encoding`, { path: what, cause });
  }
}

function optionalSize(query: URLSearchParams, name: string): number | undefined {
  const all = query.getAll(name);
  if (all.length === 0) return undefined;
  const v = all[0] as string;
  if (all.length > 1 || !SIZE_PATTERN.test(v)) throw new CairnError('bad_query', `${name} must be one integer >= 1`, { path: name });
  const n = Number(v);
  // A valid size past every checkpoint this log can sign is a state not signed (404, as the contract says), not a bad query.
  if (!Number.isSafeInteger(n)) throw new CairnError('not_found', `state ${v} is not signed`, { path: name });
  return n;
}

/** An answer not computed in time is a 504; one the client does not take in time is cut off. */
function expire(res: ServerResponse, answerMs: number, o: HttpOptions): void {
  if (res.headersSent) res.destroy();
  else sendError(res, new CairnError('timeout', `no answer within ${answerMs} ms`), o);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return; // expired (the 504 is sent) or the client left
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, error: CairnError, o: HttpOptions): void {
  if (res.writableEnded || res.destroyed) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const metered = res instanceof MeteredResponse;
  if (metered) res.errorCode = error.code;
  const headers: Record<string, string> = {};
  if (error.status === 503) {
    headers['retry-after'] = String(error.retryAfterSeconds ?? o.retry_after_s);
    if (metered) res.retried = true;
  }
  if (error.code === 'method_not_allowed') headers['allow'] = 'GET, HEAD';
  const text = JSON.stringify({ error: errorBody(error) });
  res.writeHead(error.status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Anything that is not already a CairnError is ours to hide: a 500 without internals. */
export function toCairnError(error: unknown): CairnError {
  if (error instanceof CairnError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'STORAGE_OUT_OF_RANGE' || code === 'STORAGE_NOT_FOUND') return new CairnError('not_found', 'no such entry in the state log', { cause: error });
  if (code === 'STORAGE_BUSY') return new CairnError('backpressure', 'state log busy', { cause: error });
  return new CairnError('internal', 'internal error', { cause: error });
}
