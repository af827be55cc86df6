// The tool's own parts, without a cluster: options and the loopback rule, percentiles, the seeded
// generator, the checkpoint-size witness, the bounded pool.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { shardOfKey } from '@cairn/wire';
import { assertLoopback, forEachLimited, JsonPoster, spreadTag, LoadError, LoadStats, LATENCY_SAMPLES_MAX, noteSize, parseOptions, percentile, Rng } from '../src/index.js';

const KEY = 'cairn.local/ledger+c900f286+AXp6';
const base = ['--verifier-key', KEY];

function refused(code: string, f: () => unknown): LoadError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof LoadError, `expected LoadError(${code}), got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

describe('options', () => {
  it('takes flags over env over defaults', () => {
    const o = parseOptions([...base, '--clients', '3', '--duration-ms=500'], { CAIRN_LOAD_CLIENTS: '7', CAIRN_LOAD_REQUESTS_MAX: '90', CAIRN_LOAD_SCENARIO: 'nft' }, 0);
    assert.equal(o.clients, 3);
    assert.equal(o.duration_ms, 500);
    assert.equal(o.requests_max, 90);
    assert.deepEqual(o.scenarios, ['nft']);
    assert.equal(o.ingest_url, 'http://127.0.0.1:8080');
    assert.equal(o.verifier_key, KEY);
  });

  it('names a run from the clock only when no --run-id is given', () => {
    assert.equal(parseOptions(base, {}, 36 ** 3).run_id, 'lt1000');
    assert.equal(parseOptions([...base, '--run-id', 'mine'], {}, 1).run_id, 'mine');
    refused('bad_option', () => parseOptions([...base, '--run-id', 'a{b}'], {}, 1));
  });

  it('refuses unknown flags, missing values and out-of-range numbers', () => {
    refused('bad_option', () => parseOptions([...base, '--clientz', '1'], {}, 0));
    refused('bad_option', () => parseOptions([...base, '--clients'], {}, 0));
    refused('bad_option', () => parseOptions([...base, '--clients', '0'], {}, 0));
    refused('bad_option', () => parseOptions([...base, '--clients', '1.5'], {}, 0));
    refused('bad_option', () => parseOptions([...base, '--duration-ms', '-1'], {}, 0));
    refused('bad_option', () => parseOptions([...base, '--scenario', 'bank'], {}, 0));
    refused('bad_option', () => parseOptions(['--verifier-key-file', '/nonexistent/signer.pub'], {}, 0));
  });

  it('refuses every URL that is not http:// on loopback', () => {
    for (const url of ['http://127.0.0.1:8080', 'http://127.3.2.1', 'http://localhost:1', 'http://[::1]:8090/']) assert.doesNotThrow(() => assertLoopback(url, 'u'));
    for (const url of ['http://10.0.0.1:8080', 'http://example.com', 'https://127.0.0.1', 'http://0.0.0.0:8080', 'http://[::2]', 'http://127.0.0.1.nip.io']) {
      refused('not_loopback', () => assertLoopback(url, 'u'));
    }
    refused('bad_option', () => assertLoopback('not a url', 'u'));
    const e = refused('not_loopback', () => parseOptions([...base, '--proof-url', 'http://192.168.1.4:8090'], {}, 0));
    assert.match(e.message, /--proof-url/);
  });

  it('refuses any address outside 127.0.0.0/8 (property)', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const inside = ip.startsWith('127.');
        let ok = true;
        try {
          assertLoopback(`http://${ip}:8080`, 'u');
        } catch {
          ok = false;
        }
        return ok === inside;
      }),
    );
  });
});

describe('stats', () => {
  it('nearest-rank percentiles', () => {
    assert.equal(percentile([], 0.5), 0);
    assert.equal(percentile([5], 0.99), 5);
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(xs, 0.5), 50);
    assert.equal(percentile(xs, 0.99), 99);
    assert.equal(percentile(xs, 1), 100);
    assert.throws(() => percentile(xs, 0), RangeError);
  });

  it('counts answers by status and code and keeps a bounded latency sample', () => {
    const stats = new LoadStats();
    const n = LATENCY_SAMPLES_MAX + 10;
    for (let i = 0; i < n; i += 1) stats.record({ status: i % 2 === 0 ? 200 : 409, code: i % 2 === 0 ? undefined : 'precondition_failed', body: undefined, latency_ms: i === 7 ? 900 : 1, retry_after_ms: undefined });
    const s = stats.summary(2);
    assert.equal(s.requests, n);
    assert.deepEqual(s.answers, { '200': n / 2, '409 precondition_failed': n / 2 });
    assert.equal(s.p50_ms, 1);
    assert.equal(s.p99_ms, 1);
    assert.equal(s.max_ms, 900);
    assert.equal(s.requests_per_s, n / 2);
  });
});

describe('helpers', () => {
  it('Rng repeats from its seed and stays in range', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 1_000 }, () => a.below(7));
    assert.deepEqual(xs, Array.from({ length: 1_000 }, () => b.below(7)));
    assert.ok(xs.every((x) => x >= 0 && x < 7));
    assert.equal(new Set(xs).size, 7);
    assert.notDeepEqual(xs.slice(0, 20), Array.from({ length: 20 }, () => new Rng(43).below(7)));
  });

  it('spreadTag puts the n-th tag on shard n mod shards, the same tag every time', () => {
    for (const shards of [1, 2, 5, 64]) {
      for (let n = 0; n < 10; n += 1) {
        const tag = spreadTag('run-shop', n, shards);
        assert.equal(shardOfKey(`{${tag}}:stock:sku0`, shards), n % shards);
        assert.equal(spreadTag('run-shop', n, shards), tag);
      }
    }
  });

  it('reads the size of a checkpoint note', () => {
    assert.equal(noteSize('o\n17\nroot\n\n— sig'), 17);
    assert.ok(Number.isNaN(noteSize('o\nx\n')));
  });

  it('forEachLimited runs every item with at most `concurrency` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachLimited([...Array(25).keys()], 3, async (x) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      seen.push(x);
      inFlight -= 1;
    });
    assert.equal(most, 3);
    assert.deepEqual(seen.sort((p, q) => p - q), [...Array(25).keys()]);
  });
});

describe('the command', () => {
  const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
  const run = (...args: string[]): { status: number | null; text: string } => {
    const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 10_000, env: { PATH: process.env['PATH'] ?? '' } });
    return { status: r.status, text: r.stdout + r.stderr };
  };

  it('prints its usage with --help', () => {
    const r = run('--help');
    assert.equal(r.status, 0);
    assert.match(r.text, /--ingest-url/);
  });

  it('exits 2 with the error code before sending anything on bad options', () => {
    const far = run('--verifier-key', KEY, '--ingest-url', 'http://10.0.0.1:8080');
    assert.equal(far.status, 2);
    assert.match(far.text, /not_loopback/);
    const badKey = run('--verifier-key', 'cairn.local/ledger+aaaaaaaa+AAAA');
    assert.equal(badKey.status, 2);
    assert.match(badKey.text, /bad_option: the verifier key/);
  });
});

describe('API key', () => {
  const token = `cairn_${'A'.repeat(43)}`;

  it('is taken from --api-key or CAIRN_LOAD_API_KEY, checked, and absent by default', () => {
    assert.equal(parseOptions(base, {}, 0).api_key, undefined);
    assert.equal(parseOptions([...base, '--api-key', token], {}, 0).api_key, token);
    assert.equal(parseOptions(base, { CAIRN_LOAD_API_KEY: token }, 0).api_key, token);
    refused('bad_option', () => parseOptions([...base, '--api-key', 'short'], {}, 0));
    refused('bad_option', () => parseOptions([...base, '--api-key', `${token} x`], {}, 0));
  });

  it('goes with every write as Authorization: Bearer, and with none when not set', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      req.resume();
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const keyed = new JsonPoster(url, 1, 5_000, token);
    const plain = new JsonPoster(url, 1, 5_000);
    try {
      assert.equal((await keyed.post('/v1/transactions', { records: [] })).status, 200);
      assert.equal((await plain.post('/v1/transactions', { records: [] })).status, 200);
      assert.deepEqual(seen, [`Bearer ${token}`, undefined]);
    } finally {
      keyed.close();
      plain.close();
      server.close();
    }
  });
});
