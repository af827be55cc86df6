// The HTTP surface on bare node:http: routing, bounded body reading, validation, answers.
// No framework: the whole request path is a few function calls (measured in bench/).
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import { boundConnections, createHttpServer, type TlsFiles } from '@cairn/config';
import { prometheusContentType, type HistogramSeries } from '@cairn/telemetry';
import {
  CairnError,
  errorBody,
  validateBatchEnvelope,
  validateTransaction,
  type BatchItemResult,
  type ValidateOptions,
  type ValidTransaction,
} from '@cairn/wire';
import { forbiddenRecord, type ApiKey, type ApiKeys } from './auth.js';
import { KeyShares } from './shares.js';
import { allowedHosts, canonicalHost, type IngestConfig } from './config.js';
import type { Gateway, Outcome, WaitFor } from './gateway.js';
import { IngestMetrics, otherRoute } from './metrics.js';
import { openApiDocument } from './openapi.js';

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const jsonType = 'application/json; charset=utf-8';
// How much of a refused Host header an error message repeats.
const host_shown_chars_max = 256;

export interface HttpDeps {
  readonly config: IngestConfig;
  readonly gateway: Gateway;
  readonly validate: ValidateOptions;
  readonly healthy: () => boolean;
  // Where requests are counted and GET /metrics reads from; a fresh set (stopped with the server) when not given.
  readonly metrics?: IngestMetrics;
  // The keys writes must carry (auth.ts); undefined: writes need none (authMode 'none').
  readonly apiKeys?: ApiKeys;
  // HTTPS with this certificate and key; plain HTTP when undefined.
  readonly tls?: TlsFiles;
}

// A response that carries what its request is measured by, so that send(), the one place every
// answer goes out, counts it: no per-request listener or closure. Fields declared on the class
// (not added later) keep every response one hidden class.
class MeteredResponse extends ServerResponse {
  metrics: IngestMetrics | undefined = undefined;
  route = otherRoute;
  started_ms = 0;
  errorCode: string | undefined = undefined;
  retried = false;
  counted = false;

  // Once per request: the answer sent, or the client gone before it could be (sent = false).
  count(status: number, sent: boolean): void {
    if (this.counted || this.metrics === undefined) return;
    this.counted = true;
    this.metrics.http.answered(this.route, this.req.method, status, sent, this.errorCode, this.retried, (performance.now() - this.started_ms) / 1000);
  }
}

// What /healthz shows of the HTTP layer. body_bytes_inflight: request body bytes held in memory
// at once, across all connections (bounded by body_bytes_inflight_max). connections_dropped: new
// connections closed unanswered because connections_max were open.
interface HttpFigures {
  body_bytes_inflight: number;
  connections_dropped: number;
}

export function createIngestServer(deps: HttpDeps): Server {
  const openapi = JSON.stringify(openApiDocument);
  const figures: HttpFigures = { body_bytes_inflight: 0, connections_dropped: 0 };
  const hosts = allowedHosts(deps.config);
  const metrics = deps.metrics ?? new IngestMetrics();
  metrics.watchHttp(() => figures.body_bytes_inflight);
  const shares = new KeyShares(deps.config.api_key_waiters_max, deps.config.retry_after_s);
  const ctx: Ctx = { deps, figures, openapi, metrics, shares, bodyBytes: bodyBytesSeries(metrics) };
  // Node's own 400 for a request without Host would skip the check below and its stable code.
  const server = createHttpServer(deps.tls, { requireHostHeader: false, ServerResponse: MeteredResponse }, (req, res) => {
    res.started_ms = performance.now();
    res.metrics = metrics;
    const path = pathOf(req.url ?? '/');
    // The route template: here every route is a fixed path, and any other path is one label.
    if (Object.hasOwn(routes, path)) res.route = path;
    if (!hostAllowed(req, hosts)) {
      const shown = JSON.stringify((req.headers.host ?? '').slice(0, host_shown_chars_max));
      refuse(req, res, new CairnError('host_not_allowed', `Host ${shown} is not one this gateway answers for (see allowed_hosts)`));
      return;
    }
    route(ctx, path, req, res).catch((error: unknown) => {
      if (!(error instanceof CairnError)) console.error('cairn-ingest: unexpected error', error);
      refuse(req, res, asError(error));
    });
  });
  // Keep-alive is how a backend reaches throughput; the timeouts bound idle and slow clients.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 30_000;
  server.requestTimeout = deps.config.commit_wait_ms_max + 30_000;
  // Past connections_max a new socket is closed unanswered (why by hand: boundConnections).
  boundConnections(server, deps.config.connections_max, () => {
    figures.connections_dropped += 1;
    metrics.http.connectionsDropped.inc();
  });
  if (deps.metrics === undefined) server.once('close', () => metrics.stop());
  // The server hands out MeteredResponses; its callers only need a Server.
  return server as unknown as Server;
}

// DNS rebinding: a page on evil.example points its own name at this gateway's address, and the
// browser then counts the gateway as evil.example's origin and sends it JSON without a preflight.
// The one thing such a request cannot fake is its Host header, which still says evil.example: so
// every route answers only the names it was configured for, before the body is read.
function hostAllowed(req: IncomingMessage, hosts: ReadonlySet<string>): boolean {
  // Two Host fields are refused too (RFC 9112 section 3.2): Node would keep only the first.
  const value = soleHeader(req.rawHeaders, 'host');
  if (value === undefined) return false;
  const name = hostOfHeader(value);
  return name !== undefined && hosts.has(name);
}

// The value of the one field named `lowerName`, or undefined when there is none or more than one.
// A scan of rawHeaders (name, value, name, value...) rather than req.headersDistinct, which
// builds an object of arrays of every header on each request just to count one of them.
export function soleHeader(rawHeaders: readonly string[], lowerName: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length !== lowerName.length || name.toLowerCase() !== lowerName) continue;
    if (found !== undefined) return undefined;
    found = rawHeaders[i + 1] as string;
  }
  return found;
}

// Host = uri-host [ ":" port ] (RFC 9110 section 7.2); an IPv6 literal is in brackets. The port is
// ignored: a rebinding page can pick any port, so the name is what tells it apart.
export function hostOfHeader(value: string): string | undefined {
  let end: number;
  if (value.startsWith('[')) {
    end = value.indexOf(']') + 1;
    if (end === 0) return undefined;
  } else {
    end = value.indexOf(':');
    if (end < 0) end = value.length;
  }
  const port = value.slice(end);
  if (port !== '' && !/^:[0-9]{0,5}$/.test(port)) return undefined;
  return canonicalHost(value.slice(0, end));
}

interface Ctx {
  readonly deps: HttpDeps;
  readonly figures: HttpFigures;
  readonly openapi: string;
  readonly metrics: IngestMetrics;
  readonly shares: KeyShares;
  // Body sizes by route, each series looked up once here rather than per request.
  readonly bodyBytes: { readonly single: HistogramSeries; readonly batch: HistogramSeries };
}

function bodyBytesSeries(metrics: IngestMetrics): Ctx['bodyBytes'] {
  return { single: metrics.bodyBytesOf('/v1/transactions'), batch: metrics.bodyBytesOf('/v1/transactions/batch') };
}

type Handler = (ctx: Ctx, req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>;

const routes: Record<string, Partial<Record<string, Handler>>> = {
  '/v1/transactions': { POST: postTransaction },
  '/v1/transactions/batch': { POST: postBatch },
  '/openapi.json': { GET: getOpenApi },
  '/healthz': { GET: getHealth },
  '/metrics': { GET: getMetrics },
};

const noQuery: URLSearchParams = new URLSearchParams();

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

async function route(ctx: Ctx, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  // Most requests have no query: they share one empty, never-written URLSearchParams.
  const query = q < 0 ? noQuery : new URLSearchParams(url.slice(q + 1));
  // Own keys only, so that no path or method can ever name Object.prototype's members (node's parser
  // already refuses targets without a leading '/', so this is a guard, not a reachable fix).
  const methods = Object.hasOwn(routes, path) ? routes[path] : undefined;
  if (methods === undefined) return refuse(req, res, new CairnError('not_found', `no route ${path}`));
  const method = req.method ?? '';
  const handler = Object.hasOwn(methods, method) ? methods[method] : undefined;
  if (handler === undefined) {
    res.setHeader('Allow', Object.keys(methods).join(', '));
    return refuse(req, res, new CairnError('method_not_allowed', `${req.method ?? ''} is not allowed on ${path}`));
  }
  await handler(ctx, req, res, query);
}

// Before the body is read: a write without a valid key costs the gateway one header and one hash.
function authenticate(ctx: Ctx, req: IncomingMessage, res: ServerResponse): ApiKey | undefined {
  const keys = ctx.deps.apiKeys;
  if (keys === undefined) return undefined;
  // Two Authorization fields are refused like none: which one would count is not for us to pick.
  const found = keys.authenticate(soleHeader(req.rawHeaders, 'authorization'));
  if (found !== undefined) return found;
  res.setHeader('WWW-Authenticate', 'Bearer realm="cairn-ingest"');
  throw new CairnError('unauthenticated', 'a write needs Authorization: Bearer <API key> naming a key this gateway holds');
}

// Every record of the transaction must be under a hash tag its key was given; else none is written.
function authorize(apiKey: ApiKey | undefined, tx: ValidTransaction, path: string): void {
  if (apiKey === undefined) return;
  const refused = forbiddenRecord(apiKey, tx.records);
  if (refused === undefined) return;
  throw new CairnError('forbidden_tag', `API key ${apiKey.name} may not write under the hash tag ${JSON.stringify(refused.tag)}`, { path: `${path}[${refused.index}].key` });
}

// Under the key's share of the gateway (shares.ts): taken before admission, all or nothing like
// admission itself, and given back once every transaction is answered.
async function submitShared(ctx: Ctx, apiKey: ApiKey | undefined, txs: readonly ValidTransaction[], wait: WaitFor): Promise<Outcome[]> {
  // Nothing valid to admit: the items' own errors are the answer, even while the gateway stops.
  if (txs.length === 0) return [];
  if (apiKey === undefined) return Promise.all(ctx.deps.gateway.submit(txs, wait));
  ctx.shares.take(apiKey.name, txs.length);
  try {
    return await Promise.all(ctx.deps.gateway.submit(txs, wait));
  } finally {
    ctx.shares.give(apiKey.name, txs.length);
  }
}

function waitMode(query: URLSearchParams): WaitFor {
  const wait = query.get('wait') ?? 'committed';
  if (wait !== 'committed' && wait !== 'accepted') throw new CairnError('bad_query', 'wait must be "committed" or "accepted"', { path: 'wait' });
  return wait;
}

async function postTransaction(ctx: Ctx, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const deps = ctx.deps;
  const apiKey = authenticate(ctx, req, res);
  requireJson(req);
  const wait = waitMode(query);
  const body = await readJson(req, res, deps.config, ctx.figures, ctx.bodyBytes.single);
  if (body === noBody) return;
  const tx = validateTransaction(body, deps.validate);
  authorize(apiKey, tx, 'records');
  const [outcome] = await submitShared(ctx, apiKey, [tx], wait);
  sendOutcome(res, outcome as Outcome);
}

async function postBatch(ctx: Ctx, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const deps = ctx.deps;
  const apiKey = authenticate(ctx, req, res);
  requireJson(req);
  const wait = waitMode(query);
  const body = await readJson(req, res, deps.config, ctx.figures, ctx.bodyBytes.batch);
  if (body === noBody) return;
  const items = validateBatchEnvelope(body, deps.config);
  const results: (BatchItemResult | undefined)[] = new Array<BatchItemResult | undefined>(items.length);
  const valid: ValidTransaction[] = [];
  const validAt: number[] = [];
  for (let i = 0; i < items.length; i++) {
    try {
      const tx = validateTransaction(items[i], deps.validate, `transactions[${i}]`);
      authorize(apiKey, tx, `transactions[${i}].records`);
      valid.push(tx);
      validAt.push(i);
    } catch (error) {
      results[i] = itemError(asError(error));
    }
  }
  // Admission is all or nothing: a partly admitted batch would make a 503 ambiguous.
  const outcomes = await submitShared(ctx, apiKey, valid, wait);
  outcomes.forEach((o, j) => {
    results[validAt[j] as number] = o.ok ? { status: 200, receipt: o.receipt } : itemError(o.error);
  });
  send(res, 200, JSON.stringify({ results }));
}

async function getOpenApi(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  discardBody(req, res);
  send(res, 200, ctx.openapi);
}

async function getHealth(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  discardBody(req, res);
  const ok = ctx.deps.healthy();
  send(res, ok ? 200 : 503, JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...ctx.figures, ...ctx.deps.gateway.stats }));
}

// Prometheus text; answered whether or not the broker is up (that is when it is most wanted).
async function getMetrics(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  discardBody(req, res);
  send(res, 200, ctx.metrics.registry.expose(), prometheusContentType);
}

// The gateway has no authentication, so what keeps a web page from writing through a visitor's
// browser is the browser's own rule: a cross-origin POST goes out unasked only with a form or
// text/plain type (a CORS "simple request"); one that says application/json needs a preflight this
// server never grants. A body that does not say it is JSON is therefore refused unread (415).
function requireJson(req: IncomingMessage): void {
  if (isJsonMediaType(req.headers['content-type'])) return;
  throw new CairnError('unsupported_media_type', 'Content-Type must be application/json (charset, if given, utf-8)');
}

// RFC 9110 section 8.3: type, subtype and parameter names are case-insensitive, so is the charset
// value; a value may be quoted. The body is decoded as UTF-8 whatever it says, so any parameter but
// charset=utf-8 is refused rather than ignored. Anything this does not parse is refused too.
export function isJsonMediaType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const [type, ...params] = value.split(';');
  if (trimOws(type ?? '').toLowerCase() !== 'application/json') return false;
  return params.every(isUtf8Charset);
}

function isUtf8Charset(param: string): boolean {
  const p = trimOws(param);
  if (p === '') return true; // "application/json;" is allowed by the grammar
  const eq = p.indexOf('=');
  if (eq < 0 || p.slice(0, eq).toLowerCase() !== 'charset') return false;
  let v = p.slice(eq + 1);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  return v.toLowerCase() === 'utf-8';
}

// Optional whitespace in HTTP is spaces and tabs only (String.trim would take more). A loop, not a
// regular expression: /[ \t]+$/ backtracks quadratically on a header of blanks.
function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function itemError(error: CairnError): BatchItemResult {
  return { status: error.status, error: errorBody(error) };
}

const noBody = Symbol('no body');

// Reads at most body_bytes_max bytes. Past the bound it answers 413 at once and discards the rest,
// so the client still reads the answer instead of a reset connection. All bodies being read share
// body_bytes_inflight_max; a body that would exceed it is answered 503 backpressure.
function readJson(req: IncomingMessage, res: ServerResponse, config: IngestConfig, figures: HttpFigures, bodyBytes: HistogramSeries): Promise<unknown> {
  const max = config.body_bytes_max;
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > max) {
    refuse(req, res, new CairnError('body_too_large', `body exceeds ${max} bytes`));
    return Promise.resolve(noBody);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let held = 0;
    const release = (): void => {
      figures.body_bytes_inflight -= held;
      held = 0;
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      let error: CairnError | undefined;
      if (size > max) error = new CairnError('body_too_large', `body exceeds ${max} bytes`);
      else if (figures.body_bytes_inflight + chunk.length > config.body_bytes_inflight_max) {
        error = new CairnError('backpressure', 'too many request bytes in flight', { retryAfterSeconds: config.retry_after_s });
      }
      if (error !== undefined) {
        req.off('data', onData);
        release();
        chunks.length = 0;
        refuse(req, res, error);
        resolve(noBody);
        return;
      }
      held += chunk.length;
      figures.body_bytes_inflight += chunk.length;
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('close', release);
    req.once('error', (e) => reject(new CairnError('malformed_json', 'request body could not be read', { cause: e })));
    req.once('end', () => {
      if (res.headersSent) return;
      bodyBytes.observe(size);
      try {
        // A small body arrives as one chunk: decoded in place rather than copied first.
        const text = utf8Strict.decode(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
        chunks.length = 0;
        release();
        resolve(JSON.parse(text));
      } catch (cause) {
        release();
        reject(new CairnError('malformed_json', 'body is not valid UTF-8 JSON', { cause }));
      }
    });
  });
}

// An answer sent before the body was read (refusals, routes that take no body) closes the
// connection: otherwise Node keeps reading and dropping whatever the client sends, with no bound
// but requestTimeout, on a connection that is kept alive.
function refuse(req: IncomingMessage, res: ServerResponse, error: CairnError): void {
  discardBody(req, res);
  sendError(res, error);
}

function discardBody(req: IncomingMessage, res: ServerResponse): void {
  if (!req.complete && hasBody(req) && !res.headersSent) res.setHeader('Connection', 'close');
  req.resume();
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function sendOutcome(res: ServerResponse, o: Outcome): void {
  if (o.ok) send(res, 200, JSON.stringify(o.receipt));
  else sendError(res, o.error);
}

function sendError(res: ServerResponse, error: CairnError): void {
  const metered = res instanceof MeteredResponse;
  if (metered) res.errorCode = error.code;
  if (error.retryAfterSeconds !== undefined) {
    res.setHeader('Retry-After', String(error.retryAfterSeconds));
    if (metered) res.retried = true;
  }
  send(res, error.status, JSON.stringify({ error: errorBody(error) }));
}

function send(res: ServerResponse, status: number, body: string, contentType = jsonType): void {
  if (res.headersSent || res.destroyed) {
    if (res.destroyed && res instanceof MeteredResponse) res.count(status, false);
    return;
  }
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
  if (res instanceof MeteredResponse) res.count(status, true);
}

function asError(error: unknown): CairnError {
  if (error instanceof CairnError) return error;
  return new CairnError('internal', 'internal error', { cause: error });
}
