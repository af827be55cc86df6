import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { TransportError, TransportErrorCode, fromNatsError } from './errors.js';
import { shardSubject, type StreamLayout } from './layout.js';
import { judgeDelivery } from './order.js';

export const CONSUME_DEFAULTS = Object.freeze({
  /** Messages handed to one handler call. */
  batch_msgs_max: 64,
  /** The server redelivers an unacked message after this; a running handler keeps it alive with +WPI. */
  ack_wait_ms: 30_000,
  /** Unacked deliveries the server allows; also bounds what waits in our local queue. */
  ack_pending_max: 1_024,
  /** Lifetime of one pull request (nats.js re-pulls; its minimum is 1 s). */
  pull_expires_ms: 5_000,
  /** Consumer re-creations in a row without one handled batch before giving up. */
  resets_without_progress_max: 10,
  /** Wait for the server to confirm the last ack of a batch. */
  ack_timeout_ms: 5_000,
});
export const BATCH_MSGS_MAX_LIMIT = 10_000;
const MS_TO_NS = 1_000_000;
const RESET_BACKOFF_MS = 200;
/** Re-creations further apart than this do not count as "in a row" (resets_without_progress_max). */
const RESET_QUIET_MS = 60_000;

export interface ConsumeOptions {
  readonly shard: number;
  /** Durable consumer name; one per shard worker. */
  readonly durable: string;
  /**
   * First stream sequence to deliver: a shard passes its last applied sequence + 1. Without it the
   * consumer resumes after its own ack floor on the server.
   */
  readonly start_seq?: number;
  readonly batch_msgs_max?: number;
  readonly ack_wait_ms?: number;
  readonly ack_pending_max?: number;
  readonly pull_expires_ms?: number;
}

export interface ConsumedMessage {
  /** Stream sequence: the message's place in the order of record. */
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  /** Application headers and the stored Nats-* headers (Nats-Batch-Id, Nats-Msg-Id...). */
  readonly headers: Readonly<Record<string, string>>;
  /** The server delivered it before (a crash or an expired ack wait). */
  readonly redelivered: boolean;
}

export type BatchHandler = (msgs: readonly ConsumedMessage[]) => Promise<void>;

export interface ShardConsumer {
  /** Resolves after stop(); rejects with HANDLER_FAILED or CONSUMER_FAILED when consumption ended on its own. */
  readonly done: Promise<void>;
  /** Stops pulling, lets a running handler finish and its acks reach the server. Unhandled messages stay unacked. */
  stop(): Promise<void>;
  /** The next stream sequence the handler would get (every lower one was handled). */
  nextSeq(): number;
  /** How often the durable was re-created to restore in-order delivery (1 at start). */
  resets(): number;
}

interface Settings {
  readonly batch_msgs_max: number;
  readonly ack_wait_ms: number;
  readonly ack_pending_max: number;
  readonly pull_expires_ms: number;
}

function settings(opts: ConsumeOptions): Settings {
  const s = {
    batch_msgs_max: opts.batch_msgs_max ?? CONSUME_DEFAULTS.batch_msgs_max,
    ack_wait_ms: opts.ack_wait_ms ?? CONSUME_DEFAULTS.ack_wait_ms,
    ack_pending_max: opts.ack_pending_max ?? Math.max(CONSUME_DEFAULTS.ack_pending_max, opts.batch_msgs_max ?? 0),
    pull_expires_ms: opts.pull_expires_ms ?? CONSUME_DEFAULTS.pull_expires_ms,
  };
  const bad = (what: string): never => {
    throw new TransportError(TransportErrorCode.CONFIG, `consume: ${what}`);
  };
  if (!Number.isSafeInteger(s.batch_msgs_max) || s.batch_msgs_max < 1 || s.batch_msgs_max > BATCH_MSGS_MAX_LIMIT) bad('batch_msgs_max out of range');
  if (!Number.isSafeInteger(s.ack_wait_ms) || s.ack_wait_ms < 1_000 || s.ack_wait_ms > 3_600_000) bad('ack_wait_ms must be in [1000, 3600000]');
  if (!Number.isSafeInteger(s.ack_pending_max) || s.ack_pending_max < s.batch_msgs_max || s.ack_pending_max > 100_000) {
    bad('ack_pending_max must be >= batch_msgs_max and <= 100000');
  }
  if (!Number.isSafeInteger(s.pull_expires_ms) || s.pull_expires_ms < 1_000 || s.pull_expires_ms > 300_000) bad('pull_expires_ms must be in [1000, 300000]');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(opts.durable)) bad(`bad durable name ${JSON.stringify(opts.durable)}`);
  if (opts.start_seq !== undefined && (!Number.isSafeInteger(opts.start_seq) || opts.start_seq < 1)) bad('start_seq must be a positive integer');
  return s;
}

function headerRecord(m: JsMsg): Record<string, string> {
  const out: Record<string, string> = {};
  const h = m.headers;
  if (h === undefined) return out;
  for (const key of h.keys()) out[key] = h.get(key);
  return out;
}

/**
 * A durable pull consumer on one shard subject that hands the handler messages in stream order,
 * each exactly once per run, and acks them only after the handler resolved.
 *
 * Why the order guard: JetStream redelivers an unacked message only after ack_wait, while newer
 * messages keep flowing, so after a crash or a lost delivery a shard would see its subject out of
 * order. We therefore (re)create the durable at the first unhandled sequence whenever the consumer's
 * delivery sequence shows a gap, on start, and when the server lost the consumer; redeliveries of
 * handled messages are acked and dropped.
 */
class ShardConsumerImpl implements ShardConsumer {
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (err: unknown) => void;
  private readonly subject: string;
  private readonly queue: JsMsg[] = [];
  private wakeUp: (() => void) | undefined;
  private messages: ConsumerMessages | undefined;
  private resumeSeq = 1;
  private expectedDelivery = 1;
  private needReset = true;
  private stopping = false;
  private lastReset_ms = 0;
  private resetsWithoutProgress = 0;
  private resetCount = 0;
  private generation = 0;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly layout: StreamLayout,
    private readonly opts: ConsumeOptions,
    private readonly s: Settings,
    private readonly handler: BatchHandler,
    private readonly connectionClosed: () => boolean,
  ) {
    this.subject = shardSubject(layout, opts.shard);
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A caller that only calls stop() must not see an unhandled rejection.
    this.done.catch(() => undefined);
  }

  nextSeq(): number {
    return this.resumeSeq;
  }

  resets(): number {
    return this.resetCount;
  }

  async start(): Promise<void> {
    this.resumeSeq = this.opts.start_seq ?? (await this.ackFloorSeq()) + 1;
    await this.reset();
    this.loopDone = this.loop().then(
      () => this.resolveDone(),
      (err: unknown) => this.rejectDone(err),
    );
  }

  private async ackFloorSeq(): Promise<number> {
    try {
      const info = await this.jsm.consumers.info(this.layout.stream, this.opts.durable);
      if (info.config.filter_subject !== this.subject) {
        // Its ack floor counts another subject's messages: resuming from it could skip ours.
        throw new TransportError(
          TransportErrorCode.CONFIG,
          `durable ${this.opts.durable} consumes ${String(info.config.filter_subject)}, not ${this.subject}: use one durable per shard`,
        );
      }
      return info.ack_floor.stream_seq;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return 0;
      if (err instanceof TransportError) throw err;
      throw fromNatsError(err, `consumer info ${this.opts.durable}`);
    }
  }

  /** Re-creates the durable so that delivery restarts, in order, at resumeSeq. */
  private async reset(): Promise<void> {
    this.generation += 1;
    await this.closeMessages();
    this.queue.length = 0;
    try {
      await this.jsm.consumers.delete(this.layout.stream, this.opts.durable);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) {
        throw fromNatsError(err, `delete consumer ${this.opts.durable}`);
      }
    }
    try {
      await this.jsm.consumers.add(this.layout.stream, {
        durable_name: this.opts.durable,
        filter_subject: this.subject,
        ack_policy: AckPolicy.Explicit,
        ack_wait: this.s.ack_wait_ms * MS_TO_NS,
        max_ack_pending: this.s.ack_pending_max,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: this.resumeSeq,
        replay_policy: ReplayPolicy.Instant,
        max_deliver: -1,
      });
      const consumer = await this.js.consumers.get(this.layout.stream, this.opts.durable);
      // Messages of an earlier generation (before this reset) must never reach the queue.
      const generation = ++this.generation;
      this.messages = await consumer.consume({
        max_messages: this.s.batch_msgs_max,
        expires: this.s.pull_expires_ms,
        callback: (m) => {
          if (generation !== this.generation) return;
          this.queue.push(m);
          this.wake();
        },
      });
    } catch (err) {
      throw fromNatsError(err, `create consumer ${this.opts.durable}`);
    }
    this.watchStatus(this.messages);
    this.expectedDelivery = 1;
    this.needReset = false;
    this.resetCount += 1;
  }

  private watchStatus(messages: ConsumerMessages): void {
    void (async () => {
      for await (const status of messages.status()) {
        if (status.type === 'consumer_deleted' || status.type === 'consumer_not_found') {
          if (this.messages === messages) {
            this.needReset = true;
            this.wake();
          }
        }
      }
    })()
      .catch(() => undefined)
      // The status stream ends when the messages close: wake the loop so it notices a dead
      // connection. When nats.js stopped the pull by itself (a 400 status, a subscription error)
      // on a live connection, nothing else would ever wake it: re-create the consumer.
      .finally(() => {
        if (this.messages === messages && !this.stopping) this.needReset = true;
        this.wake();
      });
  }

  private async closeMessages(): Promise<void> {
    const messages = this.messages;
    this.messages = undefined;
    if (messages === undefined) return;
    try {
      await messages.close();
    } catch {
      // closing a consumer on a dead connection is not an error worth stopping for
    }
  }

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = undefined;
    wake?.();
  }

  private sleepUntilWoken(): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = resolve;
    });
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopping) {
        if (this.connectionClosed()) {
          throw new TransportError(TransportErrorCode.CLOSED, `consumer ${this.opts.durable}: connection closed`);
        }
        if (this.needReset) {
          await this.resetWithBackoff();
          continue;
        }
        if (this.queue.length === 0) {
          await this.sleepUntilWoken();
          continue;
        }
        const batch = this.takeBatch();
        if (batch.length > 0) await this.handle(batch);
      }
    } finally {
      await this.closeMessages();
    }
  }

  private async resetWithBackoff(): Promise<void> {
    // A minute without a reset is a recovery too: an idle consumer never handles a batch, and
    // losses weeks apart must not add up to CONSUMER_FAILED.
    const now_ms = performance.now();
    if (now_ms - this.lastReset_ms > RESET_QUIET_MS) this.resetsWithoutProgress = 0;
    this.lastReset_ms = now_ms;
    this.resetsWithoutProgress += 1;
    if (this.resetsWithoutProgress > CONSUME_DEFAULTS.resets_without_progress_max) {
      throw new TransportError(
        TransportErrorCode.CONSUMER_FAILED,
        `consumer ${this.opts.durable}: ${CONSUME_DEFAULTS.resets_without_progress_max} re-creations without progress`,
      );
    }
    if (this.resetsWithoutProgress > 1) await new Promise((r) => setTimeout(r, RESET_BACKOFF_MS * this.resetsWithoutProgress));
    if (this.stopping) return;
    try {
      await this.reset();
    } catch (err) {
      // The server may be restarting: try again, within the bound above.
      if (err instanceof TransportError && err.code !== TransportErrorCode.CONFIG) this.needReset = true;
      else throw err;
    }
  }

  /** Takes up to batch_msgs_max in-order messages from the queue; flags a reset on a delivery gap. */
  private takeBatch(): JsMsg[] {
    const batch: JsMsg[] = [];
    let takenBelow = this.resumeSeq;
    while (batch.length < this.s.batch_msgs_max && this.queue.length > 0) {
      const m = this.queue.shift() as JsMsg;
      const position = { handledBelow: this.resumeSeq, takenBelow, expectedDelivery: this.expectedDelivery };
      const verdict = judgeDelivery(position, m.seq, m.info.deliverySequence);
      if (verdict === 'gap') {
        this.needReset = true;
        break;
      }
      this.expectedDelivery += 1;
      if (verdict === 'ack_and_drop') m.ack(); // handled in an earlier batch: its ack was lost
      if (verdict !== 'take') continue;
      batch.push(m);
      takenBelow = m.seq + 1;
    }
    if (this.queue.length > this.s.ack_pending_max * 2) this.needReset = true;
    return batch;
  }


  private async handle(batch: JsMsg[]): Promise<void> {
    const view = batch.map((m) => ({ seq: m.seq, subject: m.subject, data: m.data, headers: headerRecord(m), redelivered: m.redelivered }));
    // A handler slower than ack_wait must not trigger redelivery of what it is still working on.
    // Queued ones too: redelivered while they wait, their copies would grow the queue until a reset drops it all.
    const keepAlive = setInterval(() => {
      for (const m of batch) m.working();
      for (const m of this.queue) m.working();
    }, Math.floor(this.s.ack_wait_ms / 3));
    try {
      await this.handler(view);
    } catch (err) {
      throw new TransportError(TransportErrorCode.HANDLER_FAILED, `consumer ${this.opts.durable}: handler failed`, { cause: err });
    } finally {
      clearInterval(keepAlive);
    }
    const last = batch[batch.length - 1] as JsMsg;
    this.resumeSeq = last.seq + 1;
    this.resetsWithoutProgress = 0;
    for (const m of batch) if (m !== last) m.ack();
    try {
      // Acks on one connection are processed in order: confirming the last confirms the batch.
      await last.ackAck({ timeout: CONSUME_DEFAULTS.ack_timeout_ms });
    } catch {
      // A lost ack only means a redelivery, which the sequence guard drops.
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loopDone;
  }
}

export async function consumeShard(
  js: JetStreamClient,
  jsm: JetStreamManager,
  layout: StreamLayout,
  opts: ConsumeOptions,
  handler: BatchHandler,
  connectionClosed: () => boolean,
): Promise<ShardConsumer> {
  const s = settings(opts);
  const consumer = new ShardConsumerImpl(js, jsm, layout, opts, s, handler, connectionClosed);
  await consumer.start();
  return consumer;
}
