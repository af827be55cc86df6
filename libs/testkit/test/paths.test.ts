import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tlogVectorsDir } from '../src/index.js';

test('finds the workspace root and the shared vectors beside it', () => {
  assert.ok(existsSync(join(repoRoot(), 'turbo.json')));
  assert.ok(existsSync(join(tlogVectorsDir(), 'rfc6962-8leaf-reference.json')));
});
