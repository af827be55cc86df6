// GET /metrics of the proof service's HTTP layer, with scripted answers: requests counted by route
// template (never the raw key), errors by code, 503s by reason; and the route templates are the
// OpenAPI document's paths. The end-to-end figures (epochs, shard requests) are in proof.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { prometheusContentType } from '@cairn/telemetry';
import { parseExposition, sampleValue, type Family } from '@cairn/telemetry/exposition-parser';
import { createProofServer, openApiDocument, otherRoute, ProofMetrics, routeOf, type Answers, type SignedHead } from '../src/index.js';

const head: SignedHead = { size: 1, root: new Uint8Array(32), note: 'note\n' };

test('routes: every OpenAPI path is a label, a request target maps to its template, anything else is other', () => {
  const paths = Object.keys((openApiDocument() as { paths: object }).paths).sort();
  const samples: Record<string, string> = {
    '/v1/checkpoint': '/v1/checkpoint',
    '/v1/keys/{key}': '/v1/keys/%7Bshop%7D%3Aorder%2F1?at=3',
    '/v1/keys/{key}/history': '/v1/keys/k/history',
    '/v1/transactions/{id}': '/v1/transactions/tx-1',
    '/v1/consistency': '/v1/consistency?from=1&to=2',
    '/v1/shards/{shard}/consistency': '/v1/shards/3/consistency?from=1&to=2',
    '/healthz': '/healthz',
    '/openapi.json': '/openapi.json',
    '/metrics': '/metrics',
  };
  assert.deepEqual(Object.keys(samples).sort(), paths);
  for (const [template, target] of Object.entries(samples)) assert.equal(routeOf(target), template, target);
  for (const target of ['/', '/v1/nope', '/v1/keys/a/b', '/v1/keys/a/history/x', '/v1/transactions/a/b', '/v1/shards/1', '/v1/shards/1/other', '/metricsx']) {
    assert.equal(routeOf(target), otherRoute, target);
  }
});

test('metrics: requests by template and code, errors by code, 503 backpressure by reason, in-flight as it stands', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const metrics = new ProofMetrics();
  // When the slow read's answer started and was let go: its request lasted at least that long.
  let entered_ms = 0;
  let released_ms = 0;
  const server = createProofServer({
    origin: 'o',
    requests_inflight_max: 1,
    retry_after_s: 2,
    answers: {
      key: async () => {
        entered_ms = performance.now();
        await gate;
        released_ms = performance.now();
        return { ok: true };
      },
    } as unknown as Answers,
    signed: () => head,
    health: () => ({ ok: true, detail: {} }),
    metrics,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const scrape = async (): Promise<Map<string, Family>> => {
    const res = await fetch(`${url}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), prometheusContentType);
    return parseExposition(await res.text());
  };
  try {
    const slow = fetch(`${url}/v1/keys/secret-key-1`);
    await new Promise((r) => setTimeout(r, 100));
    // The one slot is held: the next reads are refused 503; a scrape is answered (it takes no slot).
    assert.equal((await fetch(`${url}/metrics`)).status, 200);
    assert.equal((await fetch(`${url}/v1/keys/secret-key-2`)).status, 503);
    assert.equal((await fetch(`${url}/v1/keys/secret-key-3`)).status, 503);
    release();
    assert.equal((await slow).status, 200);
    assert.equal((await fetch(`${url}/v1/nope/secret`)).status, 404);
    assert.equal((await fetch(`${url}/v1/checkpoint`, { method: 'POST' })).status, 405);
    const f = await scrape();
    const requests = 'cairn_proof_http_requests_total';
    const v = (labels: Record<string, string>): number => sampleValue(f, requests, requests, labels);
    assert.equal(v({ route: '/v1/keys/{key}', method: 'GET', code: '200' }), 1);
    assert.equal(v({ route: '/v1/keys/{key}', method: 'GET', code: '503' }), 2);
    assert.equal(v({ route: '/metrics', method: 'GET', code: '200' }), 1);
    assert.equal(v({ route: otherRoute, method: 'GET', code: '404' }), 1);
    assert.equal(v({ route: '/v1/checkpoint', method: 'POST', code: '405' }), 1);
    assert.equal(sampleValue(f, 'cairn_proof_http_retry_after_total', 'cairn_proof_http_retry_after_total', { reason: 'backpressure' }), 2);
    const errors = 'cairn_proof_http_errors_total';
    assert.equal(sampleValue(f, errors, errors, { route: otherRoute, error: 'not_found' }), 1);
    assert.equal(sampleValue(f, errors, errors, { route: '/v1/checkpoint', error: 'method_not_allowed' }), 1);
    const duration = 'cairn_proof_http_request_duration_seconds';
    assert.equal(sampleValue(f, duration, `${duration}_count`, { route: '/v1/keys/{key}' }), 3);
    // The slow read waited for its gate: the histogram saw at least that wait.
    const waited_s = (released_ms - entered_ms) / 1000;
    assert.ok(waited_s > 0.05);
    assert.ok(sampleValue(f, duration, `${duration}_sum`, { route: '/v1/keys/{key}' }) >= waited_s);
    // Nothing holds a slot now: the scrape being written takes none.
    assert.equal(sampleValue(f, 'cairn_proof_http_requests_inflight', 'cairn_proof_http_requests_inflight'), 0);
    assert.ok(!/secret/.test([...f.values()].flatMap((fam) => fam.samples.flatMap((s) => Object.values(s.labels))).join(' ')), 'no raw path in any label');
  } finally {
    release();
    await new Promise((resolve) => server.close(resolve));
    metrics.stop();
  }
});
