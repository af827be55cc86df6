// The gateway's logic against a scripted ledger: batching by size and by age, in-flight bound,
// sequence matching of commit events, the duplicate re-send, coalescing, timeouts, shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { until } from '@cairn/testkit';
import {
  CairnError,
  decodeShardMessage,
  encodeCommitEvent,
  validateTransaction,
  type CommitEvent,
  type Receipt,
  type TxResult,
  type ValidTransaction,
} from '@cairn/wire';
import {
  Gateway,
  listeners_per_tx_max,
  loadConfig,
  nodeSha256,
  type ClaimPort,
  type ClaimRequest,
  type ClaimVerdict,
  type IngestConfig,
  type LedgerMessage,
  type LedgerPort,
  type Outcome,
  type PublishResult,
} from '../src/index.js';
import { early_events_per_shard_max, hex } from '../src/gateway.js';

interface Call {
  messages: readonly LedgerMessage[];
  settle(result: PublishResult | CairnError): void;
}

class ScriptedLedger implements LedgerPort {
  readonly calls: Call[] = [];
  private seq = 0;
  auto = false;
  publishAtomic(messages: readonly LedgerMessage[]): Promise<PublishResult> {
    return new Promise((resolve, reject) => {
      const call: Call = { messages, settle: (r) => (r instanceof CairnError ? reject(r) : resolve(r)) };
      this.calls.push(call);
      if (this.auto) this.store(call);
    });
  }
  /** Other publishers' messages: the next flush is stored after `n` more sequences. */
  skip(n: number): void {
    this.seq += n;
  }
  store(call: Call): number {
    const first = this.seq + 1;
    this.seq += call.messages.length;
    call.settle({ kind: 'stored', firstSeq: first });
    return first;
  }
  connected(): boolean {
    return true;
  }
}

// The claim store's rule in its plainest form: the first content claimed for an id owns it.
class MemoryClaims implements ClaimPort {
  readonly held = new Map<string, string>();
  readonly asked: string[] = [];
  failWith: CairnError | undefined;
  claim(requests: readonly ClaimRequest[]): Promise<ClaimVerdict[]> {
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    return Promise.resolve(
      requests.map((r) => {
        this.asked.push(r.id);
        const hash = Buffer.from(r.contentHash).toString('hex');
        const had = this.held.get(r.id);
        if (had === undefined) this.held.set(r.id, hash);
        return had === undefined ? 'claimed' : had === hash ? 'same' : 'conflict';
      }),
    );
  }
}

function config(o: Partial<IngestConfig> = {}): IngestConfig {
  return loadConfig({}, [], { shards: 4, batch_age_ms_max: 1_000, ...o });
}

function tx(key: string, id?: string, value: unknown = 1): ValidTransaction {
  return validateTransaction({ ...(id === undefined ? {} : { id }), records: [{ key, value }] }, { limits: config(), shardCount: 4, sha256: nodeSha256 });
}

function event(seq: number, shard: number, results: TxResult[]): Uint8Array {
  const e: CommitEvent = { seq, shard, size: 10, root: new Uint8Array(32).fill(7), txs: results };
  return encodeCommitEvent(e);
}

function committed(id: string, key: string, version = 1, leafIndex = 0): TxResult {
  return { id, status: 'committed', records: [{ key, version, leafIndex }] };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('flushes by size: batch_txs_max transactions make one atomic batch, one message per shard', async () => {
  const ledger = new ScriptedLedger();
  const gw = new Gateway(config({ batch_txs_max: 3 }), ledger, 1, nodeSha256, new MemoryClaims());
  const txs = [tx('{a}1', 'x1'), tx('{b}1', 'x2'), tx('{a}2', 'x3')];
  gw.submit(txs.slice(0, 2), 'accepted');
  await tick();
  assert.equal(ledger.calls.length, 0, 'two of three: no flush yet');
  gw.submit(txs.slice(2), 'accepted');
  await tick(); // client ids: claimed first
  assert.equal(ledger.calls.length, 1);
  const msgs = ledger.calls[0]?.messages ?? [];
  const shards = new Set(txs.flatMap((t) => t.shards));
  assert.equal(msgs.length, shards.size);
  assert.deepEqual(msgs.map((m) => m.shard), [...shards].sort((a, b) => a - b));
  const ids = msgs.flatMap((m) => decodeShardMessage(m.data).txs.map((t) => t.id)).sort();
  assert.deepEqual(ids, ['x1', 'x2', 'x3']);
  for (const m of msgs) assert.match(m.msgId, new RegExp(`^[0-9a-f]{32}\\.${m.shard}$`));
  await gw.close(0);
});

test('flushes by age: a lone transaction goes after batch_age_ms_max', async () => {
  const ledger = new ScriptedLedger();
  ledger.auto = true;
  const gw = new Gateway(config({ batch_age_ms_max: 20 }), ledger, 1, nodeSha256, new MemoryClaims());
  const started = Date.now();
  const [outcome] = gw.submit([tx('k', 'age-1')], 'accepted');
  const o = await (outcome as Promise<Outcome>);
  const waited = Date.now() - started;
  assert.ok(o.ok);
  assert.ok(waited >= 15, `flushed after ${waited} ms, before the age bound`);
  assert.equal(ledger.calls.length, 1);
  await gw.close(0);
});

test('a receipt needs the commit event of the published sequence on every shard; early events count', async () => {
  const ledger = new ScriptedLedger();
  const gw = new Gateway(config({ batch_txs_max: 1 }), ledger, 1, nodeSha256, new MemoryClaims());
  const a = 'a';
  let b = 'b';
  for (let i = 0; tx(a).shards[0] === tx(b).shards[0]; i++) b = `b${i}`;
  const t = validateTransaction({ id: 'multi', records: [{ key: a, value: 1 }, { key: b, value: 2 }] }, { limits: config(), shardCount: 4 });
  const [outcome] = gw.submit([t], 'committed');
  await tick();
  const call = ledger.calls[0] as Call;
  const [s0, s1] = call.messages.map((m) => m.shard) as [number, number];
  const keyOn = (s: number): string => (t.records.find((r) => r.shard === s) as { key: string }).key;
  // Early event (before the ack) for the first shard, at sequence 1.
  gw.onCommitEvent(event(1, s0, [committed('multi', keyOn(s0), 1, 4)]));
  const first = ledger.store(call);
  assert.equal(first, 1);
  // An event for the same id at another sequence is ignored.
  gw.onCommitEvent(event(99, s1, [{ id: 'multi', status: 'id_conflict', records: [] }]));
  let settled = false;
  void (outcome as Promise<Outcome>).then(() => (settled = true));
  await tick();
  assert.equal(settled, false);
  gw.onCommitEvent(event(2, s1, [committed('multi', keyOn(s1), 3, 8)]));
  const o = await (outcome as Promise<Outcome>);
  assert.ok(o.ok, JSON.stringify(o));
  const r = o.receipt as Receipt;
  assert.deepEqual(r.records.map((x) => [x.key, x.version, x.leafIndex]), [[a, t.records[0]?.shard === s0 ? 1 : 3, t.records[0]?.shard === s0 ? 4 : 8], [b, t.records[1]?.shard === s0 ? 1 : 3, t.records[1]?.shard === s0 ? 4 : 8]]);
  assert.deepEqual(r.shards.map((s) => s.shard), [Math.min(s0, s1), Math.max(s0, s1)]);
  // Standard base64 of the event's 32 bytes of 0x07 (the event's root), not hex.
  assert.equal(r.shards[0]?.root, `${'BwcH'.repeat(10)}Bwc=`);
  await gw.close(0);
});

test('a flush the broker refuses as duplicate is re-sent once under salted ids', async () => {
  const ledger = new ScriptedLedger();
  const gw = new Gateway(config({ batch_txs_max: 1 }), ledger, 42, nodeSha256, new MemoryClaims());
  const [outcome] = gw.submit([tx('k', 'dup-1')], 'accepted');
  await tick();
  ledger.calls[0]?.settle({ kind: 'duplicate' });
  await tick();
  assert.equal(ledger.calls.length, 2);
  assert.match(ledger.calls[1]?.messages[0]?.msgId ?? '', /^[0-9a-f]{32}\.\d+\.r42-1$/);
  ledger.store(ledger.calls[1] as Call);
  const o = await (outcome as Promise<Outcome>);
  assert.ok(o.ok);
  await gw.close(0);
});

test('broker errors answer every transaction of the flush with the mapped code', async () => {
  const ledger = new ScriptedLedger();
  const gw = new Gateway(config({ batch_txs_max: 2 }), ledger, 1, nodeSha256, new MemoryClaims());
  const outs = gw.submit([tx('k1', 'e1'), tx('k2', 'e2')], 'committed');
  await tick();
  ledger.calls[0]?.settle(new CairnError('backpressure', 'busy', { retryAfterSeconds: 1 }));
  for (const o of await Promise.all(outs)) {
    assert.equal(o.ok, false);
    assert.equal(!o.ok && o.error.code, 'backpressure');
  }
  await gw.close(0);
});

test('flushes_inflight_max bounds atomic batches awaiting an ack; the queue drains as acks come', async () => {
  const ledger = new ScriptedLedger();
  const gw = new Gateway(config({ batch_txs_max: 1, flushes_inflight_max: 2 }), ledger, 1, nodeSha256, new MemoryClaims());
  const outs = gw.submit([tx('k1', 'f1'), tx('k2', 'f2'), tx('k3', 'f3')], 'accepted');
  await tick();
  assert.equal(ledger.calls.length, 2);
  assert.equal(gw.stats.queued, 1);
  ledger.store(ledger.calls[0] as Call);
  await tick();
  await tick();
  assert.equal(ledger.calls.length, 3);
  ledger.store(ledger.calls[1] as Call);
  ledger.store(ledger.calls[2] as Call);
  assert.ok((await Promise.all(outs)).every((o) => o.ok));
  await gw.close(0);
});

test('admission is all or nothing against pending_txs_max and waiters_max', async () => {
  const ledger = new ScriptedLedger();
  const gw = new Gateway(config({ pending_txs_max: 3, waiters_max: 3, request_txs_max: 3 }), ledger, 1, nodeSha256, new MemoryClaims());
  gw.submit([tx('k1', 'p1'), tx('k2', 'p2')], 'accepted');
  assert.throws(() => gw.submit([tx('k3', 'p3'), tx('k4', 'p4')], 'accepted'), (e: unknown) => e instanceof CairnError && e.code === 'backpressure' && e.retryAfterSeconds === 1);
  assert.equal(gw.stats.waiters, 2, 'nothing of the refused request was admitted');
  await gw.close(0);
});

test('admission is bounded by the bytes waiters hold (waiter_bytes_max), given back once answered', async () => {
  const ledger = new ScriptedLedger();
  const gw = new Gateway(config({ waiter_bytes_max: 1_048_576, body_bytes_max: 1_048_576, batch_txs_max: 1 }), ledger, 1, nodeSha256, new MemoryClaims());
  const big = (i: number): ValidTransaction => tx(`k${i}`, `b${i}`, 'x'.repeat(60_000));
  const held = Array.from({ length: 17 }, (_, i) => gw.submit([big(i)], 'accepted')[0] as Promise<Outcome>);
  assert.ok(gw.stats.waiter_bytes > 1_000_000 && gw.stats.waiter_bytes <= 1_048_576, String(gw.stats.waiter_bytes));
  assert.throws(() => gw.submit([big(17)], 'accepted'), (e: unknown) => e instanceof CairnError && e.code === 'backpressure' && /holding \d+ bytes/.test(e.message));
  ledger.auto = true; // flushes from now on are acked at once; the ones waiting are acked here
  for (const call of [...ledger.calls]) ledger.store(call);
  await Promise.all(held);
  await tick(); // the stats are taken when the flush that answered them ends
  assert.equal(gw.stats.waiter_bytes, 0, 'answered transactions hold nothing');
  assert.doesNotThrow(() => gw.submit([big(17)], 'accepted'));
  await gw.close(0);
});

test('with every flush slot taken, a queued transaction does not spin the flush timer', { timeout: 10_000 }, async () => {
  const ledger = new ScriptedLedger(); // never acks on its own: the one slot stays taken
  let clockReads = 0;
  const clock = (): number => {
    clockReads += 1;
    return performance.now();
  };
  const gw = new Gateway(config({ batch_age_ms_max: 0, flushes_inflight_max: 1 }), ledger, 1, nodeSha256, new MemoryClaims(), clock);
  const first = gw.submit([tx('k1', 's1')], 'accepted')[0] as Promise<Outcome>;
  await new Promise((resolve) => setTimeout(resolve, 20));
  const second = gw.submit([tx('k2', 's2')], 'accepted')[0] as Promise<Outcome>;
  clockReads = 0;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.ok(clockReads < 10, `the clock was read ${clockReads} times in 300 ms while nothing could be flushed`);
  assert.equal(ledger.calls.length, 1);
  ledger.store(ledger.calls[0] as Call);
  await first;
  await until('the second flush', 1_000, async () => (ledger.calls.length === 2 ? true : undefined));
  ledger.store(ledger.calls[1] as Call);
  assert.equal((await second).ok, true, 'the queued one goes out when the slot frees');
  await gw.close(0);
});

test('same id in flight: same content shares the outcome, different content is id_conflict at once', async () => {
  const ledger = new ScriptedLedger();
  ledger.auto = true;
  const gw = new Gateway(config({ batch_age_ms_max: 5 }), ledger, 1, nodeSha256, new MemoryClaims());
  const [a, b, c] = gw.submit([tx('k', 'same', 1), tx('k', 'same', 1), tx('k', 'same', 2)], 'accepted');
  const oc = await (c as Promise<Outcome>);
  assert.equal(!oc.ok && oc.error.code, 'id_conflict');
  const [oa, ob] = await Promise.all([a as Promise<Outcome>, b as Promise<Outcome>]);
  assert.deepEqual(oa, ob);
  assert.equal(ledger.calls.length, 1);
  assert.equal(decodeShardMessage(ledger.calls[0]?.messages[0]?.data ?? new Uint8Array()).txs.length, 1);
  await gw.close(0);
});

test('assigned ids: unique per admission, prefixed, from session, counter and content hash', async () => {
  const ledger = new ScriptedLedger();
  ledger.auto = true;
  const gw = new Gateway(config({ batch_age_ms_max: 1 }), ledger, 77, nodeSha256, new MemoryClaims());
  const outs = await Promise.all(gw.submit([tx('k'), tx('k')], 'accepted'));
  const ids = outs.map((o) => (o.ok ? o.receipt.id : ''));
  const hash = Buffer.from(tx('k').contentHash.subarray(0, 8)).toString('hex');
  assert.deepEqual(ids, [`~77.1.${hash}`, `~77.2.${hash}`]);
  await gw.close(0);
});

test('waiters time out with 504 timeout after commit_wait_ms_max; close answers the rest unavailable', async () => {
  const ledger = new ScriptedLedger();
  ledger.auto = true;
  const gw = new Gateway(config({ batch_age_ms_max: 0, commit_wait_ms_max: 100 }), ledger, 1, nodeSha256, new MemoryClaims());
  const [o] = gw.submit([tx('k', 't1')], 'committed');
  // The sweeper does not hold the process open (the HTTP server does, in production).
  const keepAlive = setInterval(() => undefined, 1_000);
  const out = await (o as Promise<Outcome>);
  clearInterval(keepAlive);
  assert.equal(!out.ok && out.error.code, 'timeout');
  assert.equal(gw.stats.waiters, 0);
  const gw2 = new Gateway(config({ batch_age_ms_max: 0 }), ledger, 1, nodeSha256, new MemoryClaims());
  const [o2] = gw2.submit([tx('k', 't2')], 'committed');
  await gw2.close(50);
  const out2 = await (o2 as Promise<Outcome>);
  assert.equal(!out2.ok && out2.error.code, 'unavailable');
  assert.throws(() => gw2.submit([tx('k', 't3')], 'committed'), (e: unknown) => e instanceof CairnError && e.code === 'unavailable');
  await gw.close(0);
});

test('precondition_failed and id_conflict from a shard become errors; duplicates are replayed receipts', async () => {
  const ledger = new ScriptedLedger();
  const gw = new Gateway(config({ batch_txs_max: 3 }), ledger, 1, nodeSha256, new MemoryClaims());
  const ts = [tx('{s}1', 'r1'), tx('{s}2', 'r2'), tx('{s}3', 'r3')];
  const outs = gw.submit(ts, 'committed');
  await tick();
  const call = ledger.calls[0] as Call;
  const seq = ledger.store(call);
  const shard = ts[0]?.shards[0] as number;
  gw.onCommitEvent(
    event(seq, shard, [
      { id: 'r1', status: 'precondition_failed', records: [] },
      { id: 'r2', status: 'id_conflict', records: [] },
      { id: 'r3', status: 'duplicate', records: [{ key: '{s}3', version: 5, leafIndex: 9 }] },
    ]),
  );
  const [o1, o2, o3] = await Promise.all(outs);
  assert.equal(!o1?.ok && o1?.error.code, 'precondition_failed');
  assert.equal(!o2?.ok && o2?.error.code, 'id_conflict');
  assert.ok(o3?.ok);
  assert.equal((o3.receipt as Receipt).replayed, true);
  assert.equal((o3.receipt as Receipt).records[0]?.version, 5);
  await gw.close(0);
});

test('a malformed commit event is counted and ignored', async () => {
  const gw = new Gateway(config(), new ScriptedLedger(), 1, nodeSha256, new MemoryClaims());
  gw.onCommitEvent(new Uint8Array([1, 2, 3]));
  assert.equal(gw.stats.commit_events_bad, 1);
  await gw.close(0);
});

test('config: flags beat env beat defaults; bad values and bad relations stop the start', () => {
  const c = loadConfig({ CAIRN_SHARDS: '8', CAIRN_INGEST_PORT: '9000' }, ['--shards=3', '--batch-age-ms-max', '7']);
  assert.equal(c.shards, 3);
  assert.equal(c.port, 9000);
  assert.equal(c.batch_age_ms_max, 7);
  assert.throws(() => loadConfig({ CAIRN_SHARDS: '0' }, []), /shards/);
  assert.throws(() => loadConfig({}, ['--shards=two']), /shards/);
  assert.throws(() => loadConfig({}, ['--nope=1']), /unknown flag/);
  assert.throws(() => loadConfig({}, ['--port']), /needs a value/);
  assert.throws(() => loadConfig({ CAIRN_NATS_URL: 'http://x' }, []), /nats_url/);
  assert.throws(() => loadConfig({}, ['--pending-txs-max=10', '--request-txs-max=20']), /request_txs_max/);
  const keys = { CAIRN_INGEST_API_KEYS_FILE: '/etc/cairn/keys.json' };
  assert.throws(() => loadConfig(keys, ['--api-key-waiters-max=10', '--request-txs-max=20', '--pending-txs-max=40']), /request_txs_max must be <= api_key_waiters_max/);
  assert.throws(() => loadConfig(keys, ['--api-key-waiters-max=30', '--pending-txs-max=50', '--request-txs-max=10']), /at most half the queue/);
  assert.equal(loadConfig({}, ['--api-key-waiters-max=30', '--pending-txs-max=50', '--request-txs-max=10']).api_key_waiters_max, 30, 'without keys there is no share to check');
  assert.throws(() => loadConfig({}, ['--waiter-bytes-max=2000000', '--body-bytes-max=3000000']), /waiter_bytes_max/);
  assert.throws(() => loadConfig({}, ['--tx-bytes-max=2000000', '--value-bytes-max=100']), /message_bytes_max/);
});

test('at most listeners_per_tx_max requests share one id in flight', async () => {
  const ledger = new ScriptedLedger();
  const gw = new Gateway(config({ batch_age_ms_max: 1_000 }), ledger, 1, nodeSha256, new MemoryClaims());
  const outs: Promise<Outcome>[] = [];
  for (let i = 0; i <= listeners_per_tx_max; i++) outs.push(...gw.submit([tx('k', 'hot')], 'committed'));
  const last = await (outs[listeners_per_tx_max] as Promise<Outcome>);
  assert.equal(!last.ok && last.error.code, 'backpressure');
  await gw.close(0);
});

test('a client id claimed for other content is refused before publishing; a retry of the same content publishes', async () => {
  const ledger = new ScriptedLedger();
  ledger.auto = true;
  const claims = new MemoryClaims();
  const gw = new Gateway(config({ batch_txs_max: 3 }), ledger, 1, nodeSha256, claims);
  const first = await Promise.all(gw.submit([tx('{a}1', 'c1', 1), tx('{b}1', 'c2', 1), tx('{a}2')], 'accepted'));
  assert.ok(first.every((o) => o.ok));
  assert.deepEqual(claims.asked, ['c1', 'c2'], 'assigned ids are not claimed');
  // c1 reused for other content: refused at once; c2 again with its content: published (a retry).
  const again = await Promise.all(gw.submit([tx('{a}1', 'c1', 2), tx('{b}1', 'c2', 1), tx('{c}1', 'c3')], 'accepted'));
  assert.equal(!again[0]?.ok && again[0]?.error.code, 'id_conflict');
  assert.ok(again[1]?.ok && again[2]?.ok);
  assert.equal(ledger.calls.length, 2);
  const ids = (ledger.calls[1]?.messages ?? []).flatMap((m) => decodeShardMessage(m.data).txs.map((t) => t.id)).sort();
  assert.deepEqual(ids, ['c2', 'c3'], 'nothing of the refused transaction reached any shard');
  // A flush whose only transaction is refused publishes nothing at all.
  const [alone] = await Promise.all(gw.submit([tx('{a}1', 'c1', 3)], 'accepted'));
  await gw.close(100);
  assert.equal(!alone?.ok && alone?.error.code, 'id_conflict');
  assert.equal(ledger.calls.length, 2);
});

test('a claim the broker cannot decide fails the flush with its code and publishes nothing', async () => {
  const ledger = new ScriptedLedger();
  ledger.auto = true;
  const claims = new MemoryClaims();
  claims.failWith = new CairnError('timeout', 'no answer');
  const gw = new Gateway(config({ batch_txs_max: 2 }), ledger, 1, nodeSha256, claims);
  const outs = await Promise.all(gw.submit([tx('k1', 'u1'), tx('k2')], 'accepted'));
  assert.deepEqual(outs.map((o) => !o.ok && o.error.code), ['timeout', 'timeout']);
  assert.equal(ledger.calls.length, 0);
  await gw.close(0);
});

test('early events: older messages with the same id never push out the waiter own event that came before the ack', async () => {
  const ledger = new ScriptedLedger();
  const gw = new Gateway(config({ batch_txs_max: 1, commit_wait_ms_max: 200 }), ledger, 1, nodeSha256, new MemoryClaims());
  const t = tx('k', 'early-1');
  const shard = t.shards[0] as number;
  const [outcome] = gw.submit([t], 'committed');
  await tick(); // claimed and published; the broker has not acked yet
  const call = ledger.calls[0] as Call;
  ledger.skip(100); // the stream already holds 100 messages: ours is 101
  // Events of older messages carrying the same id (earlier attempts, another gateway), more of
  // them than a waiter keeps, then the waiter's own event, all before the ack.
  const stale = early_events_per_shard_max + 2;
  for (let seq = 1; seq <= stale; seq++) gw.onCommitEvent(event(seq, shard, [{ id: 'early-1', status: 'duplicate', records: [{ key: 'k', version: 1, leafIndex: seq }] }]));
  gw.onCommitEvent(event(101, shard, [committed('early-1', 'k', 1, 77)]));
  assert.equal(ledger.store(call), 101);
  const keepAlive = setInterval(() => undefined, 1_000); // the sweeper does not hold the process open
  const o = await (outcome as Promise<Outcome>);
  clearInterval(keepAlive);
  assert.ok(o.ok, JSON.stringify(o));
  assert.equal((o.receipt as Receipt).records[0]?.leafIndex, 77, 'the receipt comes from the event of the published sequence');
  assert.equal(gw.stats.early_events_dropped, stale + 1 - early_events_per_shard_max);
  await gw.close(0);
});

test('early events at or below the last acked sequence, or of another shard, are not kept; a repeated event is kept once', async () => {
  const ledger = new ScriptedLedger();
  ledger.auto = true;
  const gw = new Gateway(config({ batch_txs_max: 1 }), ledger, 1, nodeSha256, new MemoryClaims());
  ledger.skip(50);
  const [first] = gw.submit([tx('k1', 'floor-1')], 'accepted');
  const acked = await (first as Promise<Outcome>);
  assert.ok(acked.ok);
  assert.deepEqual(acked.receipt.shards.map((s) => ('seq' in s ? s.seq : 0)), [51]);
  ledger.auto = false;
  const t = tx('k2', 'floor-2');
  const shard = t.shards[0] as number;
  const [outcome] = gw.submit([t], 'committed');
  await tick();
  const stale = (seq: number, on = shard): void => gw.onCommitEvent(event(seq, on, [committed('floor-2', 'k2', 1, seq)]));
  stale(10);
  stale(51); // the last sequence acked to this gateway: floor-2 was published after it
  stale(60, (shard + 1) % 4); // a shard floor-2 does not write to
  assert.equal(gw.stats.commit_events_stale, 3);
  gw.onCommitEvent(event(52, shard, [committed('floor-2', 'k2', 1, 5)]));
  gw.onCommitEvent(event(52, shard, [committed('floor-2', 'k2', 1, 5)]));
  assert.equal(ledger.store(ledger.calls[1] as Call), 52);
  const o = await (outcome as Promise<Outcome>);
  assert.ok(o.ok, JSON.stringify(o));
  assert.equal((o.receipt as Receipt).records[0]?.leafIndex, 5);
  assert.deepEqual([gw.stats.commit_events_stale, gw.stats.early_events_dropped], [3, 0]);
  await gw.close(0);
});

// What a flush publishes, for any mix of single- and multi-shard transactions (split() groups
// records by shard, with a shortcut for one shard): each transaction appears once on every shard
// it touches, in admission order, with exactly its records on that shard, in their order.
test('a flush carries each transaction once per shard it touches, with exactly its records there', async () => {
  const record = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 99 }));
  const txsArb = fc.array(fc.array(record, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 });
  await fc.assert(
    fc.asyncProperty(txsArb, async (specs) => {
      const txs = specs.map((recs, i) =>
        validateTransaction({ records: recs.map(([tag, value], j) => ({ key: `{t${tag}}:k${i}-${j}`, value })) }, { limits: config(), shardCount: 4, sha256: nodeSha256 }),
      );
      const ledger = new ScriptedLedger();
      const gw = new Gateway(config({ batch_txs_max: txs.length }), ledger, 5, nodeSha256, new MemoryClaims());
      gw.submit(txs, 'accepted');
      await tick();
      assert.equal(ledger.calls.length, 1);
      const messages = (ledger.calls[0] as Call).messages.map((m) => decodeShardMessage(m.data));
      const expectedShards = [...new Set(txs.flatMap((t) => t.shards))].sort((a, b) => a - b);
      assert.deepEqual(messages.map((m) => m.shard), expectedShards);
      for (const m of messages) {
        const mine = txs.filter((t) => t.shards.includes(m.shard));
        assert.equal(m.txs.length, mine.length);
        m.txs.forEach((part, k) => {
          const t = mine[k] as ValidTransaction;
          assert.deepEqual(part.records.map((r) => r.key), t.records.filter((r) => r.shard === m.shard).map((r) => r.key));
          assert.deepEqual(part.shards, t.shards);
          assert.deepEqual(Buffer.from(part.contentHash), Buffer.from(t.contentHash));
          assert.ok(part.id.startsWith('~5.') && part.id.endsWith(`.${Buffer.from(t.contentHash.subarray(0, 8)).toString('hex')}`), part.id);
        });
      }
      await gw.close(0);
    }),
    { numRuns: 100 },
  );
});

test('hex is the lowercase hex of any bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => assert.equal(hex(bytes), Buffer.from(bytes).toString('hex'))));
});
