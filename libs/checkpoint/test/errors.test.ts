import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@cairn/testkit';
import { CHECKPOINT_ERROR_CODES, CheckpointError, NoteUnverifiedError } from '../src/index.js';

test('the design document lists every error code, and no other', () => {
  const doc = readFileSync(join(repoRoot(), 'docs', 'design', 'checkpoint.md'), 'utf8');
  const table = doc.slice(doc.indexOf('## Error codes'));
  const documented = [...table.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...CHECKPOINT_ERROR_CODES].sort());
});

test('errors carry their code, message and cause', () => {
  const cause = new Error('inner');
  const err = new CheckpointError('NOTE_MALFORMED', 'why', { cause });
  assert.equal(err.code, 'NOTE_MALFORMED');
  assert.equal(err.cause, cause);
  assert.equal(err.name, 'CheckpointError');
  assert.match(err.message, /^NOTE_MALFORMED: why$/);
  const unverified = new NoteUnverifiedError('none', []);
  assert.ok(unverified instanceof CheckpointError);
  assert.equal(unverified.code, 'NOTE_NO_VERIFIED_SIGNATURE');
});
