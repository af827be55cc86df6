// GET /v1/shards/{shard}/consistency over real HTTP, with the shard trees built here from leaf
// hashes and a state log stub whose signed state holds a prefix of them (the shards have grown
// past it, as they do between epochs). Honest proofs must verify with @cairn/merkle; every refusal
// must carry its status and stable code, and must not reach the shards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { consistencyProof, leafHash, rootHash, verifyConsistency } from '@cairn/merkle';
import { CairnError } from '@cairn/wire';
import { Answers, createProofServer, type ShardReads, type SignedHead, type StateLog, type StoredState } from '../src/index.js';

/** Leaves each shard holds now; the signed state (SIGNED_SIZES) holds fewer. */
const LEAVES = [40, 7];
const SIGNED_SIZES = [33, 0];
const EPOCH = 3;

const leaves = LEAVES.map((n, shard) => Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`shard ${shard} leaf ${i}`))));
const rootAt = (shard: number, size: number): Uint8Array => rootHash((leaves[shard] ?? []).slice(0, size));

const signedState: StoredState = {
  epoch: EPOCH,
  bytes: new Uint8Array(1),
  state: { origin: 'o', epoch: EPOCH, cut: 1, shards: SIGNED_SIZES.map((size, shard) => ({ size, root: rootAt(shard, size) })) },
  entry: { txId: `epoch-${EPOCH}`, key: 'cairn/state', version: EPOCH, valueHash: new Uint8Array(32), metaHash: new Uint8Array(32) },
};

interface Fixture {
  readonly url: string;
  /** Shard consistency proofs asked for so far. */
  readonly asked: () => number;
  close(): Promise<void>;
}

interface FixtureOptions {
  readonly head?: SignedHead;
  /** Replaces the honest shard read (to script failures or delays). */
  readonly proof?: (shard: number, size1: number, size2: number) => Promise<Uint8Array[]>;
  readonly state?: () => Promise<StoredState>;
  readonly requests_inflight_max?: number;
  readonly answer_ms_max?: number;
}

async function serve(f: FixtureOptions = {}): Promise<Fixture> {
  const head = f.head ?? { size: EPOCH, root: new Uint8Array(32), note: 'note\n' };
  let asked = 0;
  const log = {
    state: async (n: number) => {
      // Only the signed state bounds the route: reading any other would bind to something unsigned.
      assert.equal(n, head.size, 'the route reads the state of the signed head');
      return f.state === undefined ? signedState : f.state();
    },
  } as unknown as StateLog;
  const reads = {
    consistencyProof: async (shard: number, size1: number, size2: number) => {
      asked += 1;
      if (f.proof !== undefined) return f.proof(shard, size1, size2);
      return consistencyProof(leaves[shard] ?? [], size1, size2);
    },
  } as unknown as ShardReads;
  const server = createProofServer({
    origin: 'o',
    requests_inflight_max: f.requests_inflight_max ?? 8,
    retry_after_s: 2,
    answers: new Answers(log, reads, { shards: LEAVES.length, history_versions_max: 10, tx_records_max: 10, key_bytes_max: 1024 }),
    signed: () => head,
    health: () => ({ ok: true, detail: {} }),
    ...(f.answer_ms_max === undefined ? {} : { answer_ms_max: f.answer_ms_max }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked: () => asked,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { shard?: number; from?: number; to?: number; proof?: string[]; error?: { code: string; path?: string } };
}

async function get(url: string): Promise<Answer> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, headers: r.headers, body: (await r.json()) as Answer['body'] };
}

const route = (shard: number | string, query: string): string => `/v1/shards/${shard}/consistency${query}`;
const fromB64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

test('shard consistency: every honest proof up to the signed size verifies with @cairn/merkle', async () => {
  const s = await serve();
  const signed = SIGNED_SIZES[0] as number;
  try {
    for (let from = 1; from <= signed; from += 1) {
      for (let to = from; to <= signed; to += 1) {
        const a = await get(`${s.url}${route(0, `?from=${from}&to=${to}`)}`);
        assert.equal(a.status, 200, JSON.stringify(a.body));
        assert.deepEqual([a.body.shard, a.body.from, a.body.to], [0, from, to]);
        const proof = (a.body.proof ?? []).map(fromB64);
        verifyConsistency(from, to, proof, rootAt(0, from), rootAt(0, to));
        if (from === to) assert.equal(proof.length, 0);
        // The check can fail: the proof does not tie another old tree to the new one.
        else assert.throws(() => verifyConsistency(from, to, proof, rootAt(0, to), rootAt(0, to)));
      }
    }
    // Equal sizes are answered without a shard read: the RFC 9162 proof is empty.
    assert.equal(s.asked(), (signed * (signed - 1)) / 2);
  } finally {
    await s.close();
  }
});

test('shard consistency: each refusal has its status and stable code, and none reaches the shards', async () => {
  const s = await serve();
  const cases: [string, number, string][] = [
    // No such shard: past the count, or not a shard index at all.
    [route(2, '?from=1&to=2'), 404, 'not_found'],
    [route('x', '?from=1&to=2'), 404, 'not_found'],
    [route('-1', '?from=1&to=2'), 404, 'not_found'],
    [route('01', '?from=1&to=2'), 404, 'not_found'],
    [route('99999999999999999999', '?from=1&to=2'), 404, 'not_found'],
    [route('', '?from=1&to=2'), 404, 'not_found'],
    ['/v1/shards/0', 404, 'not_found'],
    ['/v1/shards/0/consistency/more?from=1&to=2', 404, 'not_found'],
    // Sizes missing, malformed, repeated, or out of order.
    [route(0, ''), 400, 'bad_query'],
    [route(0, '?from=1'), 400, 'bad_query'],
    [route(0, '?to=2'), 400, 'bad_query'],
    [route(0, '?from=1&from=1&to=2'), 400, 'bad_query'],
    [route(0, '?from=5&to=4'), 400, 'bad_query'],
    // Past the shard's size in the signed state, though the shard itself holds more.
    [route(0, `?from=1&to=${(SIGNED_SIZES[0] as number) + 1}`), 404, 'not_found'],
    [route(0, `?from=${(SIGNED_SIZES[0] as number) + 1}&to=${LEAVES[0] as number}`), 404, 'not_found'],
    [route(0, '?from=1&to=99999999999999999999'), 404, 'not_found'],
    [route(1, '?from=1&to=1'), 404, 'not_found'],
  ];
  for (const bad of ['0', '01', '-1', '1.5', '1e3', ' 1', '', 'abc']) {
    cases.push([route(0, `?from=${encodeURIComponent(bad)}&to=2`), 400, 'bad_query']);
    cases.push([route(0, `?from=1&to=${encodeURIComponent(bad)}`), 400, 'bad_query']);
  }
  try {
    for (const [path, status, code] of cases) {
      const a = await get(`${s.url}${path}`);
      assert.deepEqual([a.status, a.body.error?.code], [status, code], path);
    }
    assert.equal(s.asked(), 0, 'a refused request asks no shard for a proof');
  } finally {
    await s.close();
  }
});

test('shard consistency: before the first epoch it is 503 unavailable with Retry-After', async () => {
  const s = await serve({ head: { size: 0, root: new Uint8Array(32), note: '' } });
  try {
    const a = await get(`${s.url}${route(0, '?from=1&to=2')}`);
    assert.deepEqual([a.status, a.body.error?.code], [503, 'unavailable']);
    assert.ok(Number(a.headers.get('retry-after')) >= 1);
  } finally {
    await s.close();
  }
});

test('shard consistency: a shard read failure reaches the client through the error table', async () => {
  const failures: [CairnError, number][] = [
    [new CairnError('timeout', 'shard 0 did not answer in time'), 504],
    [new CairnError('unavailable', 'shard 0 is replaying', { retryAfterSeconds: 1 }), 503],
    [new CairnError('backpressure', 'shard 0 is busy', { retryAfterSeconds: 1 }), 503],
  ];
  for (const [error, status] of failures) {
    const s = await serve({ proof: () => Promise.reject(error) });
    try {
      const a = await get(`${s.url}${route(0, '?from=1&to=2')}`);
      assert.deepEqual([a.status, a.body.error?.code], [status, error.code]);
    } finally {
      await s.close();
    }
  }
  const hidden = await serve({ proof: () => Promise.reject(new Error('secret internals')) });
  try {
    const a = await get(`${hidden.url}${route(0, '?from=1&to=2')}`);
    assert.deepEqual([a.status, a.body.error?.code], [500, 'internal']);
    assert.ok(!JSON.stringify(a.body).includes('secret'));
  } finally {
    await hidden.close();
  }
});

test('shard consistency: bounded like every route (in-flight slot held while the shard is asked, answer_ms_max)', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const slow = await serve({ requests_inflight_max: 1, proof: async (shard, a, b) => gate.then(() => consistencyProof(leaves[shard] ?? [], a, b)) });
  try {
    const first = get(`${slow.url}${route(0, '?from=1&to=2')}`);
    const until = Date.now() + 5_000;
    while (slow.asked() === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const refused = await get(`${slow.url}${route(0, '?from=1&to=3')}`);
    assert.deepEqual([refused.status, refused.body.error?.code], [503, 'backpressure']);
    release();
    assert.equal((await first).status, 200);
  } finally {
    release();
    await slow.close();
  }

  // A state read slower than the deadline: 504, and the shard is not asked once the answer is abandoned.
  let stateRelease: () => void = () => undefined;
  const stateGate = new Promise<void>((resolve) => (stateRelease = resolve));
  const late = await serve({ answer_ms_max: 150, state: () => stateGate.then(() => signedState) });
  try {
    const a = await get(`${late.url}${route(0, '?from=1&to=2')}`);
    assert.deepEqual([a.status, a.body.error?.code], [504, 'timeout']);
    stateRelease();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(late.asked(), 0, 'no shard read starts after the deadline');
  } finally {
    stateRelease();
    await late.close();
  }
});
