// JSON POSTs over keep-alive node:http connections, one socket per closed-loop client. Every
// answer is returned, never thrown: the load counts answers by status and code. A lost connection
// or a request past request_ms_max is status 0 with code `network` / `client_timeout`.
import { Agent, request } from 'node:http';

/** Answer bodies read per request; the ingest's largest (a 10,000-record receipt) fits. */
export const ANSWER_BYTES_MAX = 4 * 1024 * 1024;
/** Retry-After honoured at most this long, so a run never sleeps past its bounds. */
export const RETRY_AFTER_MS_MAX = 1_000;

export interface PostAnswer {
  /** HTTP status, 0 when no answer came. */
  readonly status: number;
  /** The error code of an error answer, or `network` / `client_timeout` when none came. */
  readonly code: string | undefined;
  readonly body: unknown;
  readonly latency_ms: number;
  readonly retry_after_ms: number | undefined;
}

export class JsonPoster {
  readonly #agent: Agent;
  readonly #base: string;
  readonly #request_ms_max: number;
  readonly #authorization: string | undefined;

  /** `api_key`: sent as `Authorization: Bearer` with every post. */
  constructor(base: string, sockets: number, request_ms_max: number, api_key?: string) {
    this.#base = base;
    this.#request_ms_max = request_ms_max;
    this.#authorization = api_key === undefined ? undefined : `Bearer ${api_key}`;
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets });
  }

  #headers(length: number): Record<string, string | number> {
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': length };
    if (this.#authorization !== undefined) headers['authorization'] = this.#authorization;
    return headers;
  }

  post(path: string, body: unknown): Promise<PostAnswer> {
    const bytes = Buffer.from(JSON.stringify(body), 'utf8');
    const start = performance.now();
    const done = (status: number, code: string | undefined, parsed: unknown, retry: number | undefined): PostAnswer => ({
      status,
      code,
      body: parsed,
      latency_ms: performance.now() - start,
      retry_after_ms: retry,
    });
    return new Promise((resolve) => {
      const req = request(
        new URL(path, this.#base),
        { method: 'POST', agent: this.#agent, timeout: this.#request_ms_max, headers: this.#headers(bytes.length) },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= ANSWER_BYTES_MAX) chunks.push(chunk);
          });
          res.once('error', () => resolve(done(0, 'network', undefined, undefined)));
          res.once('end', () => {
            const status = res.statusCode ?? 0;
            const parsed = size <= ANSWER_BYTES_MAX ? parseJson(Buffer.concat(chunks)) : undefined;
            resolve(done(status, status >= 400 ? errorCode(parsed) : undefined, parsed, retryAfterMs(res.headers['retry-after'])));
          });
        },
      );
      req.once('timeout', () => {
        req.destroy();
        resolve(done(0, 'client_timeout', undefined, undefined));
      });
      req.once('error', () => resolve(done(0, 'network', undefined, undefined)));
      req.end(bytes);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function errorCode(body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const error = (body as Record<string, unknown>)['error'];
    if (typeof error === 'object' && error !== null) {
      const code = (error as Record<string, unknown>)['code'];
      if (typeof code === 'string') return code;
    }
  }
  return 'no_code';
}

function retryAfterMs(header: string | undefined): number | undefined {
  if (header === undefined || !/^[0-9]+$/.test(header)) return undefined;
  return Math.min(Number(header) * 1_000, RETRY_AFTER_MS_MAX);
}
