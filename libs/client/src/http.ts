// JSON over the global `fetch` (Node >= 18 and every browser), with a bound on time and size.
import { VerifyError } from './verify/errors.js';
import { RequestError } from './errors.js';

export type FetchLike = (input: string, init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export interface HttpLimits {
  readonly request_ms_max: number;
  readonly response_bytes_max: number;
}

export const HTTP_LIMITS_DEFAULT: HttpLimits = {
  request_ms_max: 10_000,
  response_bytes_max: 64 * 1024 * 1024,
};

export class Http {
  readonly #fetch: FetchLike;
  readonly #limits: HttpLimits;

  constructor(fetchImpl: FetchLike | undefined, limits: HttpLimits) {
    const f = fetchImpl ?? (globalThis.fetch as unknown as FetchLike | undefined);
    if (f === undefined) throw new TypeError('no fetch: pass options.fetch');
    if (!(limits.request_ms_max > 0 && limits.response_bytes_max > 0)) throw new RangeError('HTTP limits must be positive');
    this.#fetch = f;
    this.#limits = limits;
  }

  get(url: string): Promise<unknown> {
    return this.#send(url, { method: 'GET', headers: { accept: 'application/json' } });
  }

  /** `authorization`: the whole header value, e.g. `Bearer <API key>` (the ingest's writes). */
  post(url: string, body: unknown, authorization?: string): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' };
    if (authorization !== undefined) headers['authorization'] = authorization;
    return this.#send(url, { method: 'POST', headers, body: JSON.stringify(body) });
  }

  async #send(url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<unknown> {
    let response;
    let text: string;
    try {
      response = await this.#fetch(url, { ...init, signal: AbortSignal.timeout(this.#limits.request_ms_max) });
      const declared = Number(response.headers.get('content-length') ?? '0');
      if (declared > this.#limits.response_bytes_max) {
        throw new RequestError('response_too_large', `answer of ${declared} bytes exceeds ${this.#limits.response_bytes_max}`, { url, status: response.status });
      }
      text = await response.text();
    } catch (cause) {
      if (cause instanceof RequestError) throw cause;
      const timedOut = cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
      throw new RequestError(timedOut ? 'request_timeout' : 'network', `${init.method} ${url} failed`, { url, cause });
    }
    if (text.length > this.#limits.response_bytes_max) {
      throw new RequestError('response_too_large', `answer exceeds ${this.#limits.response_bytes_max} characters`, { url, status: response.status });
    }
    if (!response.ok) throw errorOf(url, response.status, response.headers.get('retry-after'), text);
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new VerifyError('malformed_response', `${init.method} ${url} answered ${response.status} with invalid JSON`, { cause });
    }
  }
}

function errorOf(url: string, status: number, retryAfter: string | null, text: string): RequestError {
  let code = 'http_status';
  let message = `HTTP ${status}`;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // not a Cairn error body: keep the status
  }
  const seconds = retryAfter === null ? undefined : Number(retryAfter);
  return new RequestError(code, message, {
    url,
    status,
    ...(seconds !== undefined && Number.isFinite(seconds) ? { retryAfterSeconds: seconds } : {}),
  });
}

export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}
