import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { consumeShard, type BatchHandler, type ConsumeOptions, type ShardConsumer } from './consume.js';
import { TransportError, TransportErrorCode, fromNatsError } from './errors.js';
import { claimStream, claimSubject, shardSubjects, type StreamLayout } from './layout.js';
import { lastBySubject, type StoredLast } from './get.js';
import {
  ATOMIC_BATCH_MSGS_MAX,
  ATOMIC_BATCHES_IN_FLIGHT_MAX_DEFAULT,
  PUBLISH_TIMEOUT_MS_DEFAULT,
  PUBLISH_OVERHEAD_BYTES_MAX,
  checkMessage,
  publishCreate,
  publishBatch,
  publishOne,
  type AtomicBatchAck,
  type OutboundMessage,
  type PublishAck,
} from './publish.js';
import { requestSubject, serveSubject, type RequestHandler, type ServeOptions, type Service } from './rpc.js';
import { whenJetStreamReady } from './ready.js';
import { ensureClaimStream, ensureStream } from './stream.js';

/** Atomic batch publish (allow_atomic) arrived in nats-server 2.12. */
export const SERVER_VERSION_MIN = [2, 12] as const;

export const TRANSPORT_DEFAULTS = Object.freeze({
  name: 'cairn',
  connect_timeout_ms: 5_000,
  publish_timeout_ms: PUBLISH_TIMEOUT_MS_DEFAULT,
  batches_in_flight_max: ATOMIC_BATCHES_IN_FLIGHT_MAX_DEFAULT,
  reconnect_wait_ms: 250,
  /** About five minutes of reconnecting at reconnect_wait_ms before the connection gives up. */
  reconnect_attempts_max: 1_200,
  /**
   * nats.js builds an Error at every request (and a TimeoutError for its timer) only to keep the
   * caller's stack for a later failure. A request-heavy reader (the proof service) may turn that
   * off: its failures still carry their code and message, not the stack of the call.
   */
  async_traces: true,
  /**
   * How long connect() and ensureStream() wait for a JetStream that is up but not ready (a
   * cluster electing its metadata leader, nodes still joining): services often start with their
   * broker, and exiting on the first "not ready" only turns into a restart loop.
   */
  jetstream_ready_ms_max: 30_000,
});

export interface TransportOptions {
  readonly servers: string | readonly string[];
  readonly layout: StreamLayout;
  readonly name?: string;
  readonly connect_timeout_ms?: number;
  readonly publish_timeout_ms?: number;
  readonly batches_in_flight_max?: number;
  readonly reconnect_wait_ms?: number;
  readonly reconnect_attempts_max?: number;
  /** See TRANSPORT_DEFAULTS.async_traces. */
  readonly async_traces?: boolean;
  /** See TRANSPORT_DEFAULTS.jetstream_ready_ms_max; 0 makes one attempt. */
  readonly jetstream_ready_ms_max?: number;
  /** The broker's client token (nats-server `authorization { token }`); none when the broker asks for none. */
  readonly token?: string;
  /** PEM of the CA that signed the broker's certificate: the connection is TLS, verified against it. */
  readonly tls_ca?: string;
}

export interface EventMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

export interface EventSubscription {
  stop(): void;
}

type Settings = Required<Omit<TransportOptions, 'servers' | 'layout' | 'token' | 'tls_ca'>>;

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TransportError(TransportErrorCode.CONFIG, `${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

function settings(opts: TransportOptions): Settings {
  const s: Settings = {
    name: opts.name ?? TRANSPORT_DEFAULTS.name,
    connect_timeout_ms: opts.connect_timeout_ms ?? TRANSPORT_DEFAULTS.connect_timeout_ms,
    publish_timeout_ms: opts.publish_timeout_ms ?? TRANSPORT_DEFAULTS.publish_timeout_ms,
    batches_in_flight_max: opts.batches_in_flight_max ?? TRANSPORT_DEFAULTS.batches_in_flight_max,
    reconnect_wait_ms: opts.reconnect_wait_ms ?? TRANSPORT_DEFAULTS.reconnect_wait_ms,
    reconnect_attempts_max: opts.reconnect_attempts_max ?? TRANSPORT_DEFAULTS.reconnect_attempts_max,
    async_traces: opts.async_traces ?? TRANSPORT_DEFAULTS.async_traces,
    jetstream_ready_ms_max: opts.jetstream_ready_ms_max ?? TRANSPORT_DEFAULTS.jetstream_ready_ms_max,
  };
  checkRange('connect_timeout_ms', s.connect_timeout_ms, 100, 120_000);
  checkRange('publish_timeout_ms', s.publish_timeout_ms, 100, 120_000);
  // 50 is the server's per-stream limit: more could only ever be refused there.
  checkRange('batches_in_flight_max', s.batches_in_flight_max, 1, 50);
  checkRange('reconnect_wait_ms', s.reconnect_wait_ms, 10, 60_000);
  checkRange('reconnect_attempts_max', s.reconnect_attempts_max, 0, 1_000_000);
  checkRange('jetstream_ready_ms_max', s.jetstream_ready_ms_max, 0, 600_000);
  return s;
}

function versionAtLeast(version: string, min: readonly [number, number]): boolean {
  const m = /^(\d+)\.(\d+)\./.exec(version);
  if (m === null) return false;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > min[0] || (major === min[0] && minor >= min[1]);
}

/**
 * One NATS connection and everything Cairn moves over it. Payload-agnostic: it moves bytes; the
 * encodings are @cairn/wire's.
 */
export class Transport {
  private batchesInFlight = 0;
  private claimBatchesInFlight = 0;
  private readonly subjects: ReadonlySet<string>;
  /** Stopped by close(), so a clean shutdown lets running handlers finish and acks go out first. */
  private readonly stoppables = new Set<{ stop(): unknown }>();
  private closed = false;

  private constructor(
    readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly layout: StreamLayout,
    private readonly s: Settings,
  ) {
    this.subjects = new Set(shardSubjects(layout));
  }

  static async connect(opts: TransportOptions): Promise<Transport> {
    const s = settings(opts);
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: typeof opts.servers === 'string' ? opts.servers : [...opts.servers],
        name: s.name,
        timeout: s.connect_timeout_ms,
        reconnectTimeWait: s.reconnect_wait_ms,
        maxReconnectAttempts: s.reconnect_attempts_max,
        noAsyncTraces: !s.async_traces,
        ...(opts.token === undefined ? {} : { token: opts.token }),
        ...(opts.tls_ca === undefined ? {} : { tls: { ca: opts.tls_ca } }),
      });
    } catch (err) {
      // The broker's refusal of the credentials says so; a wrong token must not read as "broker down".
      const refused = /authori[sz]ation/i.test(err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err));
      const why = refused ? ': the broker refused the credentials (token)' : '';
      throw new TransportError(TransportErrorCode.CONNECT, `cannot connect to ${String(opts.servers)}${why}`, { cause: err });
    }
    const version = nc.info?.version ?? '';
    if (!versionAtLeast(version, SERVER_VERSION_MIN)) {
      await nc.close();
      throw new TransportError(TransportErrorCode.SERVER_VERSION, `nats-server ${version} lacks atomic batch publish; need >= ${SERVER_VERSION_MIN.join('.')}`);
    }
    try {
      await whenJetStreamReady('JetStream account info', s.jetstream_ready_ms_max, (timeout) => jetstreamManager(nc, { timeout }));
      // The manager kept for later calls has the client's usual request timeout.
      const jsm = await jetstreamManager(nc, { checkAPI: false });
      return new Transport(nc, jetstream(nc), jsm, opts.layout, s);
    } catch (err) {
      await nc.close();
      throw fromNatsError(err, 'JetStream is not available');
    }
  }

  /** The server's max_payload: no single message may be larger. */
  get maxPayloadBytes(): number {
    return this.nc.info?.max_payload ?? 1_048_576;
  }

  private checkOpen(): void {
    if (this.closed || this.nc.isClosed()) throw new TransportError(TransportErrorCode.CLOSED, 'transport is closed');
  }

  /** A claim and its publish headers must fit the server's max_payload. */
  #checkClaimSize(data: Uint8Array): void {
    if (data.length + PUBLISH_OVERHEAD_BYTES_MAX > this.maxPayloadBytes) throw new TransportError(TransportErrorCode.MESSAGE_TOO_LARGE, `claim of ${data.length} bytes exceeds max_payload`);
  }

  /** A manager whose requests wait at most `timeout` ms (a readiness attempt); no request made here. */
  #jsmWithin(timeout: number): Promise<JetStreamManager> {
    return jetstreamManager(this.nc, { timeout, checkAPI: false });
  }

  /** Creates the layout's stream, or verifies an existing one (STREAM_MISMATCH if it differs). */
  async ensureStream(): Promise<StreamInfo> {
    this.checkOpen();
    return whenJetStreamReady(`stream ${this.layout.stream}`, this.s.jetstream_ready_ms_max, async (timeout) => ensureStream(await this.#jsmWithin(timeout), this.layout));
  }

  /** Creates the layout's claim stream, or verifies an existing one (STREAM_MISMATCH if it differs). */
  async ensureClaimStream(): Promise<StreamInfo> {
    this.checkOpen();
    return whenJetStreamReady(`stream ${claimStream(this.layout)}`, this.s.jetstream_ready_ms_max, async (timeout) => ensureClaimStream(await this.#jsmWithin(timeout), this.layout));
  }

  /**
   * Stores `data` as the claim on `key_hex` (64 hex digits) if nobody claimed it before; else
   * WRONG_LAST_SEQUENCE and nothing is stored. Calls pipeline: issue many, then await them.
   */
  async createClaim(key_hex: string, data: Uint8Array): Promise<PublishAck> {
    this.checkOpen();
    const msg = { subject: claimSubject(this.layout, key_hex), data };
    this.#checkClaimSize(data);
    return publishCreate(this.nc, msg, this.s.publish_timeout_ms);
  }

  /**
   * Creates the claims on every key at once, as one create-only atomic batch: all are stored, or
   * none is and the call fails with WRONG_LAST_SEQUENCE if any key was already claimed (then
   * createClaim tells which). At most ATOMIC_BATCH_MSGS_MAX claims, distinct keys; at most
   * batches_in_flight_max such batches at once (else BACKPRESSURE), counted apart from the
   * ledger's because they go to another stream.
   */
  async createClaims(claims: readonly { readonly key_hex: string; readonly data: Uint8Array }[]): Promise<AtomicBatchAck> {
    this.checkOpen();
    if (claims.length === 0) throw new TransportError(TransportErrorCode.BAD_INPUT, 'a claim batch needs at least one claim');
    if (claims.length > ATOMIC_BATCH_MSGS_MAX) {
      throw new TransportError(TransportErrorCode.BATCH_TOO_LARGE, `claim batch of ${claims.length} exceeds ${ATOMIC_BATCH_MSGS_MAX}`);
    }
    const msgs = claims.map((c) => ({ subject: claimSubject(this.layout, c.key_hex), data: c.data }));
    for (const m of msgs) {
      this.#checkClaimSize(m.data);
    }
    if (this.claimBatchesInFlight >= this.s.batches_in_flight_max) {
      throw new TransportError(TransportErrorCode.BACKPRESSURE, `${this.s.batches_in_flight_max} claim batches already in flight`);
    }
    this.claimBatchesInFlight += 1;
    try {
      return await publishBatch(this.nc, msgs, this.s.publish_timeout_ms, true);
    } finally {
      this.claimBatchesInFlight -= 1;
    }
  }

  /** The claim on `key_hex`, or undefined if it was never claimed. */
  async readClaim(key_hex: string): Promise<StoredLast | undefined> {
    this.checkOpen();
    // From the leader: a claim is read right after a create-only publish was refused as taken, and a
    // direct get may be answered by a follower that has not applied it yet (get.ts).
    return lastBySubject(this.nc, claimStream(this.layout), claimSubject(this.layout, key_hex), this.s.publish_timeout_ms);
  }

  /** One message into the stream, deduplicated by msgId. */
  async publish(msg: OutboundMessage): Promise<PublishAck> {
    this.checkOpen();
    checkMessage(msg, this.subjects, this.maxPayloadBytes);
    return publishOne(this.nc, msg, this.s.publish_timeout_ms);
  }

  /**
   * All messages stored whole, at contiguous stream sequences, or none at all. At most
   * ATOMIC_BATCH_MSGS_MAX messages; at most batches_in_flight_max batches at once, beyond which the
   * call fails at once with BACKPRESSURE instead of queueing.
   */
  async publishAtomic(msgs: readonly OutboundMessage[]): Promise<AtomicBatchAck> {
    this.checkOpen();
    if (msgs.length === 0) throw new TransportError(TransportErrorCode.BAD_INPUT, 'an atomic batch needs at least one message');
    if (msgs.length > ATOMIC_BATCH_MSGS_MAX) {
      throw new TransportError(TransportErrorCode.BATCH_TOO_LARGE, `atomic batch of ${msgs.length} messages exceeds ${ATOMIC_BATCH_MSGS_MAX}`);
    }
    for (const msg of msgs) checkMessage(msg, this.subjects, this.maxPayloadBytes);
    if (this.batchesInFlight >= this.s.batches_in_flight_max) {
      throw new TransportError(TransportErrorCode.BACKPRESSURE, `${this.s.batches_in_flight_max} atomic batches already in flight`);
    }
    this.batchesInFlight += 1;
    try {
      return await publishBatch(this.nc, msgs, this.s.publish_timeout_ms);
    } finally {
      this.batchesInFlight -= 1;
    }
  }

  /** Atomic batches awaiting their commit ack right now. */
  atomicBatchesInFlight(): number {
    return this.batchesInFlight;
  }

  /** A durable pull consumer on one shard's subject; see ShardConsumer for the delivery guarantees. */
  async consume(opts: ConsumeOptions, handler: BatchHandler): Promise<ShardConsumer> {
    this.checkOpen();
    const consumer = await consumeShard(this.js, this.jsm, this.layout, opts, handler, () => this.nc.isClosed());
    return this.track(consumer);
  }

  private track<T extends { stop(): unknown }>(thing: T): T {
    this.stoppables.add(thing);
    const stop = thing.stop.bind(thing);
    thing.stop = () => {
      this.stoppables.delete(thing);
      return stop();
    };
    return thing;
  }

  /** Answers requests on `subject` with at most in_flight_max running at once. */
  serve(subject: string, handler: RequestHandler, opts: ServeOptions = {}): Service {
    this.checkOpen();
    return this.track(serveSubject(this.nc, subject, handler, opts));
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    this.checkOpen();
    return requestSubject(this.nc, subject, data, timeoutMs);
  }

  /** Core-NATS publish (not stored, at most once): commit events. */
  publishEvent(subject: string, data: Uint8Array, headers?: Readonly<Record<string, string>>): void {
    this.checkOpen();
    if (headers === undefined) {
      this.nc.publish(subject, data);
      return;
    }
    const h = natsHeaders();
    for (const [name, value] of Object.entries(headers)) h.set(name, value);
    this.nc.publish(subject, data, { headers: h });
  }

  /** Calls `handler` for every event on `subject` (wildcards allowed) until stop(). */
  subscribe(subject: string, handler: (event: EventMessage) => void): EventSubscription {
    this.checkOpen();
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err !== null) return;
        const h: Record<string, string> = {};
        if (msg.headers !== undefined) for (const key of msg.headers.keys()) h[key] = msg.headers.get(key);
        handler({ subject: msg.subject, data: msg.data, headers: h });
      },
    });
    return { stop: () => sub.unsubscribe() };
  }

  /** Waits until the server has seen everything sent so far. */
  async flush(): Promise<void> {
    this.checkOpen();
    try {
      await this.nc.flush();
    } catch (err) {
      throw fromNatsError(err, 'flush');
    }
  }

  /** Stops consumers and services (running handlers finish), drains and closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.stoppables].map((thing) => thing.stop()));
    if (this.nc.isClosed()) return;
    try {
      await this.nc.drain();
    } catch {
      await this.nc.close();
    }
  }
}

export function connectTransport(opts: TransportOptions): Promise<Transport> {
  return Transport.connect(opts);
}
