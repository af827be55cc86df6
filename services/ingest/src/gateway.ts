// The gateway's core: admits validated transactions under named bounds, batches them by size and
// by age into flushes (one atomic batch, one message per shard), and turns the shards' commit
// events into receipts. No HTTP here. Reasons: docs/design/ingest.md.
import {
  CairnError,
  assignedIdPrefix,
  decodeCommitEvent,
  encodeShardMessage,
  encodedTxPartSize,
  shardMessageHeaderBytes,
  type AcceptedReceipt,
  type CommitEvent,
  type CommitRecord,
  type Receipt,
  type Sha256,
  type TxPart,
  type TxResult,
  type ValidTransaction,
} from '@cairn/wire';
import { claimFlush, needsClaim, type ClaimPort } from './claims.js';
import type { IngestConfig } from './config.js';
import type { LedgerMessage, LedgerPort, PublishResult } from './ledger.js';

export type WaitFor = 'committed' | 'accepted';

export type Outcome = { readonly ok: true; readonly receipt: Receipt | AcceptedReceipt } | { readonly ok: false; readonly error: CairnError };

interface Listener {
  readonly wait: WaitFor;
  readonly resolve: (outcome: Outcome) => void;
}

interface ShardResult {
  readonly event: CommitEvent;
  // Standard base64 of event.root, like every other hash a client sees (proofs, shard reads,
  // checkpoints), so a receipt's root compares with the signed state as it is. Computed once per
  // event rather than once per transaction in it.
  readonly rootB64: string;
  readonly result: TxResult;
}

// One per transaction id in flight; requests with the same id and content share it.
interface Waiter {
  readonly id: string;
  readonly tx: ValidTransaction;
  readonly parts: ReadonlyMap<number, TxPart>;
  readonly partBytes: ReadonlyMap<number, number>;
  readonly listeners: Listener[];
  readonly deadline_ms: number;
  state: 'queued' | 'published' | 'done';
  // shard -> stream sequence of the message carrying this tx, known once the broker acked.
  seqs: Map<number, number> | undefined;
  // The highest sequence the broker had acked to this gateway before this tx was published: its
  // own messages come after it, so an event at or below it is for another message.
  seqFloor: number;
  readonly results: Map<number, ShardResult>;
  // shard -> commit events that arrived before the broker's ack (the shard can be faster than the
  // ack), in sequence order, at most early_events_per_shard_max. Made on the first such event:
  // most transactions never have one.
  early: Map<number, ShardResult[]> | undefined;
}

export interface GatewayStats {
  queued: number;
  waiters: number;
  // Key, value and meta bytes the waiters hold (bounded by waiter_bytes_max).
  waiter_bytes: number;
  flushes_inflight: number;
  flushes: number;
  commit_events_bad: number;
  // Early events for an unacked tx that cannot be its own (at or below its floor, other shard).
  commit_events_stale: number;
  // Early events dropped because early_events_per_shard_max were already kept for that shard.
  early_events_dropped: number;
}

// What the gateway tells its metrics (metrics.ts); the gateway itself imports no telemetry.
export interface GatewayMeter {
  // A flush was taken: its transactions and their encoded bytes, all shards.
  flushed(txs: number, bytes: number): void;
  // An atomic batch publish ended: stored, duplicate (re-sent salted) or error.
  published(result: 'stored' | 'duplicate' | 'error', seconds: number): void;
  // A transaction was answered for good: committed, accepted, or an error code. commitWaitSeconds
  // when the shards' commit events decided it (admission to the last event).
  decided(outcome: string, commitWaitSeconds: number | undefined): void;
}

export const noGatewayMeter: GatewayMeter = { flushed: () => {}, published: () => {}, decided: () => {} };

// Timeouts are swept in insertion order, which is deadline order (one fixed wait per waiter).
const SWEEP_MS = 50;
// Requests that may share one transaction id in flight (retries racing their original).
export const listeners_per_tx_max = 64;
// Commit events kept per waiter and shard until the broker's ack names the sequence to match. A
// shard publishes its events in stream order, so events of OLDER messages with the same id (an
// earlier attempt, another gateway) arrive before the waiter's own, and dropping the lowest
// sequence first means they can never push it out; only this many events of LATER messages with
// the same id, all before the ack, could.
export const early_events_per_shard_max = 4;

export class Gateway {
  private readonly waiters = new Map<string, Waiter>();
  private queue: Waiter[] = [];
  private head = 0;
  private queuedCount = 0;
  // Key, value and meta bytes of every waiter not yet done (bounded by waiter_bytes_max).
  private heldBytes = 0;
  private readonly queuedBytes: number[];
  private inflight = 0;
  private flushNumber = 0;
  // Highest stream sequence the broker acked to this gateway (a floor for every later publish).
  private ackedSeqMax = 0;
  private autoCounter = 0;
  private ageTimer: NodeJS.Timeout | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private closing = false;
  private readonly idle: (() => void)[] = [];
  readonly stats: GatewayStats = { queued: 0, waiters: 0, waiter_bytes: 0, flushes_inflight: 0, flushes: 0, commit_events_bad: 0, commit_events_stale: 0, early_events_dropped: 0 };

  constructor(
    private readonly config: IngestConfig,
    private readonly ledger: LedgerPort,
    // Unique per gateway start, from the broker (see session.ts); part of assigned ids.
    private readonly session: number,
    private readonly sha256: Sha256,
    // Client ids are claimed here before their flush is published (see claims.ts).
    private readonly claims: ClaimPort,
    private readonly now: () => number = Date.now,
    private readonly meter: GatewayMeter = noGatewayMeter,
  ) {
    this.queuedBytes = new Array<number>(config.shards).fill(0);
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  // Admits all of txs or none (503 backpressure). Returns one outcome promise per tx, in order.
  submit(txs: readonly ValidTransaction[], wait: WaitFor): Promise<Outcome>[] {
    if (this.closing) throw new CairnError('unavailable', 'the gateway is shutting down', { retryAfterSeconds: this.config.retry_after_s });
    const n = txs.length;
    if (this.queuedCount + n > this.config.pending_txs_max || this.waiters.size + n > this.config.waiters_max || this.heldBytes + bytesOf(txs) > this.config.waiter_bytes_max) {
      throw new CairnError('backpressure', `gateway full: ${this.queuedCount} queued, ${this.waiters.size} waiting holding ${this.heldBytes} bytes`, {
        retryAfterSeconds: this.config.retry_after_s,
      });
    }
    const out = txs.map((tx) => this.admit(tx, wait));
    this.maybeFlush(false);
    return out;
  }

  private admit(tx: ValidTransaction, wait: WaitFor): Promise<Outcome> {
    const id = tx.id ?? this.assignId(tx);
    const existing = this.waiters.get(id);
    if (existing !== undefined) return this.coalesce(existing, tx, wait);
    let split: ReturnType<Gateway['split']>;
    try {
      split = this.split(id, tx);
    } catch (error) {
      return Promise.resolve({ ok: false, error: asCairnError(error) });
    }
    const { parts, partBytes } = split;
    const waiter: Waiter = {
      id,
      tx,
      parts,
      partBytes,
      listeners: [],
      deadline_ms: this.now() + this.config.commit_wait_ms_max,
      state: 'queued',
      seqs: undefined,
      seqFloor: 0,
      results: new Map(),
      early: undefined,
    };
    const promise = new Promise<Outcome>((resolve) => waiter.listeners.push({ wait, resolve }));
    this.waiters.set(id, waiter);
    this.heldBytes += tx.bytes;
    this.enqueue(waiter);
    return promise;
  }

  // Same id in flight: same content shares the outcome; different content is a conflict now,
  // which is what the shard would decide too, since the first one precedes it in the stream.
  private coalesce(existing: Waiter, tx: ValidTransaction, wait: WaitFor): Promise<Outcome> {
    if (!bytesEqual(existing.tx.contentHash, tx.contentHash)) {
      return Promise.resolve({ ok: false, error: new CairnError('id_conflict', `id ${existing.id} is in use with different content`) });
    }
    if (wait === 'accepted' && existing.seqs !== undefined) return Promise.resolve({ ok: true, receipt: accepted(existing) });
    if (existing.listeners.length >= listeners_per_tx_max) {
      const error = new CairnError('backpressure', `${listeners_per_tx_max} requests already wait for id ${existing.id}`, {
        retryAfterSeconds: this.config.retry_after_s,
      });
      return Promise.resolve({ ok: false, error });
    }
    return new Promise<Outcome>((resolve) => existing.listeners.push({ wait, resolve }));
  }

  // "~<session>.<counter>.<first 8 bytes of the content hash, hex>": unique because the session is
  // unique per gateway start and the counter per session; derived from nothing random or timed.
  private assignId(tx: ValidTransaction): string {
    this.autoCounter += 1;
    return `${assignedIdPrefix}${this.session}.${this.autoCounter}.${hex(tx.contentHash.subarray(0, 8))}`;
  }

  private split(id: string, tx: ValidTransaction): { parts: Map<number, TxPart>; partBytes: Map<number, number> } {
    const records = new Map<number, TxPart['records'][number][]>();
    if (tx.shards.length === 1) {
      // The common case, one shard: every record is on it, in order; no grouping to do.
      records.set(tx.shards[0] as number, tx.records.map(partRecord));
    } else {
      for (const r of tx.records) {
        let list = records.get(r.shard);
        if (list === undefined) records.set(r.shard, (list = []));
        list.push(partRecord(r));
      }
    }
    const parts = new Map<number, TxPart>();
    const partBytes = new Map<number, number>();
    for (const shard of tx.shards) {
      const part: TxPart = { id, contentHash: tx.contentHash, meta: tx.meta, shards: tx.shards, records: records.get(shard) ?? [] };
      const size = encodedTxPartSize(part);
      if (size + shardMessageHeaderBytes > this.config.message_bytes_max) {
        throw new CairnError('tx_too_large', `transaction needs ${size} bytes on shard ${shard}, a message holds ${this.config.message_bytes_max}`);
      }
      parts.set(shard, part);
      partBytes.set(shard, size);
    }
    return { parts, partBytes };
  }

  private enqueue(w: Waiter): void {
    this.queue.push(w);
    this.queuedCount += 1;
    for (const [shard, bytes] of w.partBytes) this.queuedBytes[shard] = (this.queuedBytes[shard] as number) + bytes;
  }

  // -------------------------------------------------------------------------------------------
  // Flushing: by size (batch_txs_max, or a shard message full) or by age (batch_age_ms_max).

  private fullBatchReady(): boolean {
    if (this.queuedCount >= this.config.batch_txs_max) return true;
    const limit = this.config.message_bytes_max - shardMessageHeaderBytes;
    return this.queuedBytes.some((b) => b >= limit);
  }

  private oldestAge(): number {
    const w = this.queue[this.head];
    return w === undefined ? 0 : this.now() - this.admittedAt(w);
  }

  private admittedAt(w: Waiter): number {
    return w.deadline_ms - this.config.commit_wait_ms_max;
  }

  private maybeFlush(ageCheck: boolean): void {
    let force = ageCheck && this.oldestAge() >= this.config.batch_age_ms_max;
    while (this.inflight < this.config.flushes_inflight_max && this.queuedCount > 0 && (force || this.closing || this.fullBatchReady())) {
      this.flushOnce();
      force = false;
    }
    this.compactQueue();
    // With every flush slot taken the timer would fire only to find them taken still (a spin for
    // as long as the broker is slow); the end of a flush calls maybeFlush instead.
    if (this.queuedCount > 0 && this.ageTimer === undefined && this.inflight < this.config.flushes_inflight_max) {
      const wait = Math.max(0, this.config.batch_age_ms_max - this.oldestAge());
      this.ageTimer = setTimeout(() => {
        this.ageTimer = undefined;
        this.maybeFlush(true);
      }, wait);
    }
    this.updateStats();
  }

  private compactQueue(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private takeBatch(): Waiter[] {
    const taken: Waiter[] = [];
    let takenBytes = 0;
    const bytes = new Array<number>(this.config.shards).fill(shardMessageHeaderBytes);
    while (this.head < this.queue.length && taken.length < this.config.batch_txs_max) {
      const w = this.queue[this.head] as Waiter;
      if (w.state === 'queued' && taken.length > 0 && !fits(w, bytes, this.config.message_bytes_max)) break;
      this.head += 1;
      this.queuedCount -= 1;
      for (const [shard, b] of w.partBytes) this.queuedBytes[shard] = (this.queuedBytes[shard] as number) - b;
      if (w.state !== 'queued') continue; // timed out while queued
      for (const [shard, b] of w.partBytes) {
        bytes[shard] = (bytes[shard] as number) + b;
        takenBytes += b;
      }
      w.state = 'published';
      // Taken now, published later: every sequence acked so far is below its own.
      w.seqFloor = this.ackedSeqMax;
      taken.push(w);
    }
    if (taken.length > 0) this.meter.flushed(taken.length, takenBytes);
    return taken;
  }

  private flushOnce(): void {
    const taken = this.takeBatch();
    if (taken.length === 0) return;
    this.flushNumber += 1;
    this.inflight += 1;
    this.stats.flushes += 1;
    void this.claimThenPublish(taken, this.flushNumber)
      .catch((error: unknown) => this.failAll(taken, asCairnError(error)))
      .finally(() => {
        this.inflight -= 1;
        this.maybeFlush(true);
        this.checkIdle();
      });
  }

  // A client id reused for other content is refused here, before any shard sees any part of it:
  // a shard that never saw the id would otherwise commit its part while another refuses.
  // A flush of assigned ids only publishes without waiting (no claim to make).
  private async claimThenPublish(taken: Waiter[], flush: number): Promise<void> {
    const owned = taken.some((w) => needsClaim(w.id)) ? this.refuse(await claimFlush(this.claims, taken)) : taken;
    if (owned.length === 0) return;
    const { messages, shards } = this.messagesOf(owned);
    const firstSeq = await this.publish(messages, flush);
    this.published(owned, shards, firstSeq);
  }

  private refuse(split: { owned: Waiter[]; refused: Waiter[] }): Waiter[] {
    for (const w of split.refused) {
      if (w.state === 'done') continue;
      const error = new CairnError('id_conflict', `id ${w.id} was already used with different content`);
      for (const l of w.listeners) l.resolve({ ok: false, error });
      this.finish(w, 'id_conflict');
    }
    return split.owned;
  }

  private messagesOf(taken: Waiter[]): { messages: LedgerMessage[]; shards: number[] } {
    const byShard = new Map<number, TxPart[]>();
    for (const w of taken) {
      for (const [shard, part] of w.parts) {
        let list = byShard.get(shard);
        if (list === undefined) byShard.set(shard, (list = []));
        list.push(part);
      }
    }
    const shards = [...byShard.keys()].sort((a, b) => a - b);
    const idsHash = hex(this.sha256(new TextEncoder().encode(taken.map((w) => w.id).join('\n'))).subarray(0, 16));
    const messages: LedgerMessage[] = shards.map((shard) => ({
      shard,
      data: encodeShardMessage({ shard, txs: byShard.get(shard) as TxPart[] }),
      msgId: `${idsHash}.${shard}`,
    }));
    // One message per shard: a flush can never exceed an atomic batch (shard count <= 1,000).
    assert(messages.length >= 1 && messages.length <= this.config.shards, `flush of ${messages.length} messages`);
    return { messages, shards };
  }

  // A flush whose dedupe ids the broker already holds was stored before (same transaction ids,
  // e.g. a client retry within the duplicate window). It is re-sent once under salted ids, so the
  // shards, which keep idempotency forever, answer with the original receipts.
  private async publish(messages: LedgerMessage[], flush: number): Promise<number> {
    let result: PublishResult = await this.timedPublish(messages);
    if (result.kind === 'duplicate') {
      const salted = messages.map((m) => ({ ...m, msgId: `${m.msgId}.r${this.session}-${flush}` }));
      result = await this.timedPublish(salted);
    }
    if (result.kind === 'duplicate') throw new CairnError('internal', 'flush refused as duplicate twice');
    return result.firstSeq;
  }

  private async timedPublish(messages: LedgerMessage[]): Promise<PublishResult> {
    const started = performance.now();
    try {
      const result = await this.ledger.publishAtomic(messages);
      this.meter.published(result.kind, (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      this.meter.published('error', (performance.now() - started) / 1000);
      throw error;
    }
  }

  private published(taken: Waiter[], shards: number[], firstSeq: number): void {
    const seqOf = new Map<number, number>();
    assert(Number.isSafeInteger(firstSeq) && firstSeq >= 1, `broker gave first sequence ${firstSeq}`);
    shards.forEach((shard, i) => seqOf.set(shard, firstSeq + i));
    this.ackedSeqMax = Math.max(this.ackedSeqMax, firstSeq + shards.length - 1);
    for (const w of taken) {
      if (w.state === 'done') continue;
      w.seqs = new Map();
      for (const shard of w.parts.keys()) w.seqs.set(shard, seqOf.get(shard) as number);
      const early = w.early;
      w.early = undefined;
      if (this.answerAccepted(w) || early === undefined) continue;
      for (const kept of early.values()) for (const r of kept) this.record(w, r);
    }
  }

  // Returns true when no listener waits for the commit any more.
  private answerAccepted(w: Waiter): boolean {
    const keep: Listener[] = [];
    for (const l of w.listeners) {
      if (l.wait === 'accepted') l.resolve({ ok: true, receipt: accepted(w) });
      else keep.push(l);
    }
    w.listeners.length = 0;
    w.listeners.push(...keep);
    if (keep.length === 0) this.finish(w, 'accepted');
    return keep.length === 0;
  }

  private failAll(taken: Waiter[], error: CairnError): void {
    for (const w of taken) {
      if (w.state === 'done') continue;
      for (const l of w.listeners) l.resolve({ ok: false, error });
      this.finish(w, error.code);
    }
  }

  private finish(w: Waiter, outcome: string, commitWaitSeconds?: number): void {
    this.meter.decided(outcome, commitWaitSeconds);
    if (w.state !== 'done') this.heldBytes -= w.tx.bytes;
    w.state = 'done';
    w.listeners.length = 0;
    if (this.waiters.get(w.id) === w) this.waiters.delete(w.id);
  }

  // -------------------------------------------------------------------------------------------
  // Commit events from the shards.

  onCommitEvent(bytes: Uint8Array): void {
    let event: CommitEvent;
    try {
      event = decodeCommitEvent(bytes);
    } catch {
      // Not ours to fix here; counted so that /healthz shows it.
      this.stats.commit_events_bad += 1;
      return;
    }
    let rootB64: string | undefined;
    for (const result of event.txs) {
      const w = this.waiters.get(result.id);
      if (w === undefined || w.state !== 'published') continue;
      rootB64 ??= Buffer.from(event.root).toString('base64');
      if (w.seqs === undefined) this.keepEarly(w, { event, rootB64, result });
      else this.record(w, { event, rootB64, result });
    }
    this.checkIdle();
  }

  // Before the ack the waiter does not know which of its id's events is its own; it keeps the
  // highest sequences per shard (reason at early_events_per_shard_max).
  private keepEarly(w: Waiter, r: ShardResult): void {
    const { shard, seq } = r.event;
    if (seq <= w.seqFloor || !w.parts.has(shard)) {
      this.stats.commit_events_stale += 1;
      return;
    }
    w.early ??= new Map();
    let kept = w.early.get(shard);
    if (kept === undefined) w.early.set(shard, (kept = []));
    let at = kept.length;
    while (at > 0 && (kept[at - 1] as ShardResult).event.seq > seq) at -= 1;
    if (at > 0 && (kept[at - 1] as ShardResult).event.seq === seq) return; // the same event again
    kept.splice(at, 0, r);
    if (kept.length > early_events_per_shard_max) {
      kept.shift();
      this.stats.early_events_dropped += 1;
    }
    assert(kept.length <= early_events_per_shard_max, `${kept.length} early events kept for shard ${shard}`);
  }

  private record(w: Waiter, r: ShardResult): void {
    // Only the event of the message this waiter published counts: an event for an older message
    // with the same id (another gateway, an earlier attempt) says nothing about this content.
    if (w.state === 'done' || w.seqs?.get(r.event.shard) !== r.event.seq) return;
    w.results.set(r.event.shard, r);
    if (w.results.size < w.parts.size) return;
    const outcome = decide(w);
    for (const l of w.listeners) l.resolve(outcome);
    this.finish(w, outcome.ok ? 'committed' : outcome.error.code, (this.now() - this.admittedAt(w)) / 1000);
  }

  // -------------------------------------------------------------------------------------------

  private sweep(): void {
    const now = this.now();
    for (const w of this.waiters.values()) {
      if (w.deadline_ms > now) break;
      const error = new CairnError('timeout', `no commit within ${this.config.commit_wait_ms_max} ms; retry with the same id`);
      for (const l of w.listeners) l.resolve({ ok: false, error });
      this.finish(w, 'timeout');
    }
    this.checkIdle();
  }

  private updateStats(): void {
    this.stats.queued = this.queuedCount;
    this.stats.waiters = this.waiters.size;
    this.stats.waiter_bytes = this.heldBytes;
    this.stats.flushes_inflight = this.inflight;
  }

  private checkIdle(): void {
    this.updateStats();
    if (this.waiters.size > 0 || this.inflight > 0) return;
    for (const f of this.idle.splice(0)) f();
  }

  // Stops admitting, flushes what is queued and waits (bounded) for every open request.
  async close(wait_ms_max: number): Promise<void> {
    this.closing = true;
    this.maybeFlush(true);
    if (this.waiters.size > 0 || this.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait_ms_max);
        this.idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const error = new CairnError('unavailable', 'the gateway stopped before the commit arrived; retry with the same id', {
      retryAfterSeconds: this.config.retry_after_s,
    });
    for (const w of [...this.waiters.values()]) {
      for (const l of w.listeners) l.resolve({ ok: false, error });
      this.finish(w, 'unavailable');
    }
    clearInterval(this.sweeper);
    if (this.ageTimer !== undefined) clearTimeout(this.ageTimer);
  }
}

function assert(condition: boolean, what: string): asserts condition {
  if (!condition) throw new CairnError('internal', `assertion failed: ${what}`);
}

// What transactions hold in memory (key, value and meta bytes, as validated) until they are
// answered. Checked against waiter_bytes_max.
function bytesOf(txs: readonly ValidTransaction[]): number {
  let sum = 0;
  for (const tx of txs) sum += tx.bytes;
  return sum;
}

function fits(w: Waiter, bytes: number[], max: number): boolean {
  for (const [shard, b] of w.partBytes) if ((bytes[shard] as number) + b > max) return false;
  return true;
}

function accepted(w: Waiter): AcceptedReceipt {
  const shards = [...(w.seqs ?? new Map<number, number>())].sort((a, b) => a[0] - b[0]).map(([shard, seq]) => ({ shard, seq }));
  return { id: w.id, status: 'accepted', shards };
}

// Every shard answered: the tx is decided. Preconditions are single-shard (validated), so a
// precondition_failed comes from the only shard; id_conflict from any shard wins.
function decide(w: Waiter): Outcome {
  const results = [...w.results.values()];
  if (results.some((r) => r.result.status === 'id_conflict')) {
    return { ok: false, error: new CairnError('id_conflict', `id ${w.id} was already used with different content`) };
  }
  if (results.some((r) => r.result.status === 'precondition_failed')) {
    return { ok: false, error: new CairnError('precondition_failed', `a precondition of transaction ${w.id} does not hold`) };
  }
  const byKey = new Map<string, CommitRecord>();
  for (const r of results) for (const rec of r.result.records) byKey.set(rec.key, rec);
  const records: Receipt['records'] = [];
  for (const rec of w.tx.records) {
    const c = byKey.get(rec.key);
    if (c === undefined) return { ok: false, error: new CairnError('internal', `shard ${rec.shard} reported no version for ${rec.key}`) };
    records.push({ key: rec.key, version: c.version, shard: rec.shard, leafIndex: c.leafIndex });
  }
  const shards = results
    .map((r) => ({ shard: r.event.shard, size: r.event.size, root: r.rootB64 }))
    .sort((a, b) => a.shard - b.shard);
  const receipt: Receipt = { id: w.id, status: 'committed', records, shards };
  if (results.every((r) => r.result.status === 'duplicate')) receipt.replayed = true;
  return { ok: true, receipt };
}

function asCairnError(error: unknown): CairnError {
  if (error instanceof CairnError) return error;
  return new CairnError('internal', error instanceof Error ? error.message : String(error), { cause: error });
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Two hex digits per byte value: one string append per byte, not two (assigned ids, flush ids).
const byteHex: readonly string[] = Array.from({ length: 256 }, (_, b) => '0123456789abcdef'.charAt(b >> 4) + '0123456789abcdef'.charAt(b & 15));

export function hex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += byteHex[bytes[i] as number] as string;
  return s;
}

function partRecord(r: ValidTransaction['records'][number]): TxPart['records'][number] {
  return { key: r.key, keyBytes: r.keyBytes, value: r.value, expect: r.expect };
}
