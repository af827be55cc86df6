import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@cairn/testkit';

const srcDir = join(repoRoot(), 'libs', 'merkle', 'src');

// 32-bit bitwise operators would silently truncate tree sizes above 2^32 (docs/design/merkle.md);
// lint bans them per file, so a new source file must opt in too.
test('every source file turns on the no-bitwise lint rule', () => {
  const files = readdirSync(srcDir).filter((name) => name.endsWith('.ts'));
  assert.ok(files.length >= 8);
  for (const name of files) {
    const text = readFileSync(join(srcDir, name), 'utf8');
    assert.ok(text.startsWith('/* eslint no-bitwise: "error" */'), `${name} lacks the no-bitwise directive`);
  }
});
