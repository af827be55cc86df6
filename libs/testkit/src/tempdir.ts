import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  readonly path: string;
  /** Removes the directory and everything in it. Idempotent. */
  remove(): void;
}

// Why a registry: a test that throws before its cleanup must still not leave directories behind.
const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const path of live) rmSync(path, { recursive: true, force: true });
    live.clear();
  });
}

/** A fresh directory under the OS temp dir, removed by remove() or, at the latest, when the process exits. */
export function tempDir(prefix: string): TempDir {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(prefix)) throw new Error(`testkit: bad temp dir prefix ${JSON.stringify(prefix)}`);
  installExitHook();
  const path = mkdtempSync(join(tmpdir(), `cairn-${prefix}-`));
  live.add(path);
  return {
    path,
    remove(): void {
      rmSync(path, { recursive: true, force: true });
      live.delete(path);
    },
  };
}
