import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { TransportError, TransportErrorCode, fromNatsError } from './errors.js';

export const SERVE_DEFAULTS = Object.freeze({
  /** Requests a service handles at once; more are answered at once with BACKPRESSURE. */
  in_flight_max: 64,
  /** stop() waits this long for running handlers, then returns; their late answers go nowhere. */
  stop_wait_ms_max: 5_000,
});
export const REQUEST_TIMEOUT_MS_MAX = 300_000;
/** Header on an error reply: the responder's stable code. The body is then a UTF-8 message. */
export const HDR_ERROR_CODE = 'Cairn-Error';
const CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

export interface IncomingRequest {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

export type RequestHandler = (req: IncomingRequest) => Promise<Uint8Array>;

export interface ServeOptions {
  readonly in_flight_max?: number;
  /** Queue group: replicas of a service share the requests. */
  readonly queue?: string;
}

export interface Service {
  /** Stops taking requests and waits for the ones in flight to be answered. */
  stop(): Promise<void>;
  inFlight(): number;
  /** Requests answered BACKPRESSURE at once because in_flight_max were running (a counter for metrics). */
  refused(): number;
}

function headerRecord(msg: Msg): Record<string, string> {
  const out: Record<string, string> = {};
  if (msg.headers === undefined) return out;
  for (const key of msg.headers.keys()) out[key] = msg.headers.get(key);
  return out;
}

function errorReply(msg: Msg, code: string, message: string): void {
  const h = natsHeaders();
  h.set(HDR_ERROR_CODE, CODE_PATTERN.test(code) ? code : TransportErrorCode.REMOTE_ERROR);
  msg.respond(new TextEncoder().encode(message.slice(0, 1_000)), { headers: h });
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CODE_PATTERN.test(code) ? code : TransportErrorCode.REMOTE_ERROR;
}

export function serveSubject(nc: NatsConnection, subject: string, handler: RequestHandler, opts: ServeOptions = {}): Service {
  const inFlightMax = opts.in_flight_max ?? SERVE_DEFAULTS.in_flight_max;
  if (!Number.isSafeInteger(inFlightMax) || inFlightMax < 1 || inFlightMax > 100_000) {
    throw new TransportError(TransportErrorCode.CONFIG, `serve: in_flight_max must be in [1, 100000], got ${inFlightMax}`);
  }
  let inFlight = 0;
  let refused = 0;
  const running = new Set<Promise<void>>();
  const answer = async (msg: Msg): Promise<void> => {
    try {
      const body = await handler({ subject: msg.subject, data: msg.data, headers: headerRecord(msg) });
      msg.respond(body);
    } catch (err) {
      errorReply(msg, codeOf(err), err instanceof Error ? err.message : String(err));
    }
  };
  const sub: Subscription = nc.subscribe(subject, {
    ...(opts.queue === undefined ? {} : { queue: opts.queue }),
    callback: (err, msg) => {
      if (err !== null || msg.reply === undefined || msg.reply === '') return; // not a request: nothing to answer
      if (inFlight >= inFlightMax) {
        refused += 1;
        errorReply(msg, TransportErrorCode.BACKPRESSURE, `${subject}: ${inFlightMax} requests in flight`);
        return;
      }
      inFlight += 1;
      const task = answer(msg).finally(() => {
        inFlight -= 1;
        running.delete(task);
      });
      running.add(task);
    },
  });
  return {
    inFlight: () => inFlight,
    refused: () => refused,
    async stop(): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, SERVE_DEFAULTS.stop_wait_ms_max)));
      // Drain, not unsubscribe: requests the server already handed to this subscription are
      // answered rather than left to their callers' timeouts. Both waits share one bound.
      await Promise.race([sub.drain().catch(() => undefined), bound]);
      await Promise.race([Promise.allSettled([...running]), bound]);
      clearTimeout(timer);
    },
  };
}

export async function requestSubject(nc: NatsConnection, subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > REQUEST_TIMEOUT_MS_MAX) {
    throw new TransportError(TransportErrorCode.BAD_INPUT, `request timeout must be in [1, ${REQUEST_TIMEOUT_MS_MAX}] ms`);
  }
  let reply: Msg;
  try {
    reply = await nc.request(subject, data, { timeout: timeoutMs });
  } catch (err) {
    throw fromNatsError(err, `request ${subject}`, subject);
  }
  const remoteCode = reply.headers?.get(HDR_ERROR_CODE) ?? '';
  if (remoteCode === '') return reply.data;
  const message = new TextDecoder().decode(reply.data);
  const code = remoteCode === TransportErrorCode.BACKPRESSURE ? TransportErrorCode.BACKPRESSURE : TransportErrorCode.REMOTE_ERROR;
  throw new TransportError(code, `request ${subject}: ${remoteCode}: ${message}`, { details: { remote_code: remoteCode, subject } });
}
