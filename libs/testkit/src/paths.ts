import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The workspace root: the nearest ancestor whose package.json declares workspaces. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 16; depth += 1) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && 'workspaces' in JSON.parse(readFileSync(manifest, 'utf8'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error('testkit: no workspace root above ' + fileURLToPath(import.meta.url));
}

/**
 * The published transparency-log vectors, read in place from ../shared/testdata/tlog beside the
 * repository (never copied into it). CAIRN_TLOG_VECTORS overrides the location.
 */
export function tlogVectorsDir(): string {
  const dir = process.env['CAIRN_TLOG_VECTORS'] ?? resolve(repoRoot(), '..', 'shared', 'testdata', 'tlog');
  if (!existsSync(dir)) throw new Error(`testkit: test vectors not found at ${dir}`);
  return dir;
}

export function readJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
