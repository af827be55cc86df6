import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CairnError, errorBody, errorCodes, errorStatus, isErrorCode, statusOf } from '../src/index.js';

// The codes as first published, in order. Clients switch on them, so this list may only grow at
// its end: a rename, a removal or a reordering of these fails here.
const publishedCodes = [
  'malformed_json', 'body_too_large', 'wrong_type', 'json_too_deep', 'bad_unicode', 'bad_query', 'not_found', 'method_not_allowed',
  'invalid_id', 'empty_records', 'too_many_records', 'invalid_key', 'key_too_large', 'bad_hash_tag', 'duplicate_key', 'value_too_large',
  'meta_too_large', 'tx_too_large', 'bad_expect', 'precondition_cross_shard', 'empty_batch', 'batch_too_large', 'precondition_failed',
  'id_conflict', 'backpressure', 'unavailable', 'timeout', 'wire_truncated', 'wire_version', 'wire_malformed', 'internal',
  'unsupported_media_type', 'host_not_allowed',
];

test('error codes are append-only: every published code keeps its place', () => {
  assert.deepEqual(errorCodes.slice(0, publishedCodes.length), publishedCodes);
});

test('unsupported_media_type is 415 and travels like any other code', () => {
  assert.equal(statusOf('unsupported_media_type'), 415);
  assert.equal(errorStatus.unsupported_media_type, 415);
  const e = new CairnError('unsupported_media_type', 'Content-Type must be application/json');
  assert.equal(e.status, 415);
  assert.deepEqual(errorBody(e), { code: 'unsupported_media_type', message: 'Content-Type must be application/json' });
});

test('host_not_allowed is 421 and travels like any other code', () => {
  assert.equal(statusOf('host_not_allowed'), 421);
  const e = new CairnError('host_not_allowed', 'Host evil.example is not allowed');
  assert.equal(e.status, 421);
  assert.deepEqual(errorBody(e), { code: 'host_not_allowed', message: 'Host evil.example is not allowed' });
});

test('isErrorCode accepts exactly the table', () => {
  for (const code of errorCodes) assert.ok(isErrorCode(code), code);
  for (const other of ['UNSUPPORTED_MEDIA_TYPE', 'unsupported-media-type', 'toString', '__proto__', '', 415, undefined]) {
    assert.equal(isErrorCode(other), false, String(other));
  }
});
