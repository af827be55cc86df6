// Waiting at start for a broker that is up but whose JetStream is not answering yet. Reasons:
// docs/design/transport.md, "Starting before the broker is ready".
import { JetStreamApiError } from '@nats-io/jetstream';
import { TransportError, TransportErrorCode } from './errors.js';

/** First pause between attempts; it doubles up to JETSTREAM_RETRY_MS_MAX. */
export const JETSTREAM_RETRY_MS_FIRST = 50;
export const JETSTREAM_RETRY_MS_MAX = 1_000;
/**
 * The longest one attempt may wait for an answer: a JetStream without a metadata leader does not
 * answer at all, and a request waiting out the client's usual 5 s would leave no time to retry.
 */
export const JETSTREAM_ATTEMPT_MS_MAX = 2_000;
/** A bound on attempts besides the time bound: at JETSTREAM_RETRY_MS_MAX, 600 s of waiting. */
export const JETSTREAM_READY_ATTEMPTS_MAX = 650;

// JetStream's own codes for a cluster that cannot serve the request yet: 10008 "temporarily
// unavailable" (no metadata leader), 10005 "no suitable peers for placement" and 10023
// "insufficient resources" (too few nodes joined for the stream's replicas).
const NOT_READY_API_CODES: ReadonlySet<number> = new Set([10008, 10005, 10023]);
// nats.js reports a JetStream not started yet as no responders ("jetstream is not enabled"), and
// a metadata leader still being elected as a request timeout.
const NOT_READY_TEXT = /no ?responders|jetstream is not enabled|timeout|timed out/i;

/** Whether `err` (or an error it was caused by) says JetStream is not ready yet, rather than refusing. */
export function isJetStreamNotReady(err: unknown): boolean {
  let cur: unknown = err;
  for (let depth = 0; depth < 8 && cur instanceof Error; depth += 1) {
    if (cur instanceof JetStreamApiError && NOT_READY_API_CODES.has(cur.code)) return true;
    if (NOT_READY_TEXT.test(`${cur.name} ${cur.message}`)) return true;
    cur = cur.cause;
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `attempt` (given how long it may wait for an answer, where it can say so) until it
 * succeeds, fails for a reason other than JetStream not being ready, or `ready_ms_max` has passed
 * (then TRANSPORT_JETSTREAM_NOT_READY, caused by the last failure). Each attempt may wait
 * JETSTREAM_ATTEMPT_MS_MAX for an answer and is not cut short when the time is up, so the wait may
 * overrun by that much. 0 makes one attempt.
 */
export async function whenJetStreamReady<T>(what: string, ready_ms_max: number, attempt: (timeout_ms: number) => Promise<T>): Promise<T> {
  const deadline = Date.now() + ready_ms_max;
  let pause_ms = JETSTREAM_RETRY_MS_FIRST;
  for (let attempts = 1; ; attempts += 1) {
    try {
      return await attempt(JETSTREAM_ATTEMPT_MS_MAX);
    } catch (err) {
      if (!isJetStreamNotReady(err)) throw err;
      const last = err instanceof Error ? err.message : String(err);
      if (Date.now() + pause_ms > deadline || attempts >= JETSTREAM_READY_ATTEMPTS_MAX) {
        throw new TransportError(TransportErrorCode.JETSTREAM_NOT_READY, `${what}: JetStream not ready within ${ready_ms_max} ms (${attempts} attempts; last: ${last})`, { cause: err });
      }
      await sleep(pause_ms);
      pause_ms = Math.min(pause_ms * 2, JETSTREAM_RETRY_MS_MAX);
    }
  }
}
