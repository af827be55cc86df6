import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpServerMetrics, Registry } from '../src/index.js';
import { parseExposition, sampleValue } from './exposition-parser.js';

function page(r: Registry) {
  return parseExposition(r.expose());
}

test('an answer counts by route, method and code; an error also by its code, and Retry-After by reason', () => {
  const r = new Registry();
  const http = new HttpServerMetrics(r, { prefix: 'svc' });
  http.answered('/v1/things', 'POST', 201, true, undefined, false, 0.002);
  http.answered('/v1/things', 'POST', 503, true, 'busy', true, 0.001);
  http.answered('/v1/things', 'POST', 400, true, 'bad_request', false, 0.001);
  const p = page(r);
  assert.equal(sampleValue(p, 'svc_http_requests_total', 'svc_http_requests_total', { route: '/v1/things', method: 'POST', code: '201' }), 1);
  assert.equal(sampleValue(p, 'svc_http_requests_total', 'svc_http_requests_total', { route: '/v1/things', method: 'POST', code: '503' }), 1);
  assert.equal(sampleValue(p, 'svc_http_errors_total', 'svc_http_errors_total', { route: '/v1/things', error: 'busy' }), 1);
  assert.equal(sampleValue(p, 'svc_http_errors_total', 'svc_http_errors_total', { route: '/v1/things', error: 'bad_request' }), 1);
  assert.equal(sampleValue(p, 'svc_http_retry_after_total', 'svc_http_retry_after_total', { reason: 'busy' }), 1);
  assert.throws(() => sampleValue(p, 'svc_http_retry_after_total', 'svc_http_retry_after_total', { reason: 'bad_request' }));
  assert.equal(sampleValue(p, 'svc_http_request_duration_seconds', 'svc_http_request_duration_seconds_count', { route: '/v1/things' }), 3);
});

test('unknown methods, codes past 599 and answers that never went out get fixed label values', () => {
  const r = new Registry();
  const http = new HttpServerMetrics(r, { prefix: 'svc' });
  http.answered('other', 'BREW', 200, true, undefined, false, 0);
  http.answered('other', 'GET', 999, true, undefined, false, 0);
  http.answered('other', undefined, 200, false, undefined, false, 0);
  const p = page(r);
  assert.equal(sampleValue(p, 'svc_http_requests_total', 'svc_http_requests_total', { route: 'other', method: 'other', code: '200' }), 1);
  assert.equal(sampleValue(p, 'svc_http_requests_total', 'svc_http_requests_total', { route: 'other', method: 'GET', code: 'other' }), 1);
  assert.equal(sampleValue(p, 'svc_http_requests_total', 'svc_http_requests_total', { route: 'other', method: 'other', code: 'aborted' }), 1);
});

test('two servers with different prefixes share a registry without clashing; the same prefix twice is refused', () => {
  const r = new Registry();
  new HttpServerMetrics(r, { prefix: 'a' });
  new HttpServerMetrics(r, { prefix: 'b' });
  assert.throws(() => new HttpServerMetrics(r, { prefix: 'a' }), { name: 'TelemetryError' });
});
