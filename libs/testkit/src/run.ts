import { spawn } from 'node:child_process';

/** How long runNode waits for the process to exit before it kills it. */
export const RUN_MS_MAX_DEFAULT = 30_000;

export interface RunOptions {
  /** Added to this process's env (after drop_env_prefix is applied). */
  readonly env?: Record<string, string>;
  /** This process's env vars whose names start with it are not passed on (e.g. 'CAIRN_'). */
  readonly drop_env_prefix?: string;
  /** SIGKILL after this long; the result then has code null. */
  readonly ms_max?: number;
}

export interface RunResult {
  readonly code: number | null;
  /** stdout and stderr, interleaved as they came. */
  readonly out: string;
}

/** Runs a script with this node to its exit, collecting its output. */
export function runNode(file: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string | undefined> = { ...process.env };
  if (o.drop_env_prefix !== undefined) {
    for (const k of Object.keys(env)) if (k.startsWith(o.drop_env_prefix)) delete env[k];
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { env: { ...env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.ms_max ?? RUN_MS_MAX_DEFAULT);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}
