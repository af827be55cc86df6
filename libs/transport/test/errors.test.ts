import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@cairn/testkit';
import { TransportError, TransportErrorCode, isTransportError } from '../src/index.js';

test('the design document lists every error code, and no other', () => {
  const doc = readFileSync(join(repoRoot(), 'docs', 'design', 'transport.md'), 'utf8');
  const table = doc.slice(doc.indexOf('## Error codes'));
  const listed = [...table.matchAll(/^\| `(TRANSPORT_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...listed].sort(), Object.values(TransportErrorCode).sort());
  assert.equal(new Set(listed).size, listed.length);
});

test('TransportError carries code, cause and details', () => {
  const cause = new Error('socket reset');
  const err = new TransportError(TransportErrorCode.TIMEOUT, 'publish: timed out', { cause, details: { subject: 'ledger.shard.0' } });
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'TransportError');
  assert.equal(err.code, 'TRANSPORT_TIMEOUT');
  assert.equal(err.cause, cause);
  assert.equal(err.details.subject, 'ledger.shard.0');
  assert.ok(isTransportError(err, TransportErrorCode.TIMEOUT));
  assert.equal(isTransportError(err, TransportErrorCode.CLOSED), false);
  assert.equal(isTransportError(cause), false);
});
