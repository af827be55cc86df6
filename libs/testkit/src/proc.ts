// One child process for end-to-end tests: runs a built entry file with `node`, keeps its output
// (bounded) and waits for a readiness line. It never outlives the test process (children.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { killOnExit } from './children.js';

/** How long a process may take to print its readiness line. */
export const PROC_READY_MS_MAX = 30_000;
/** How long a graceful stop (SIGTERM) may take before SIGKILL. */
export const PROC_STOP_MS_MAX = 10_000;
/** Output kept per process, across restarts (the newest characters). */
export const PROC_OUTPUT_CHARS_MAX = 200_000;
const READY_POLL_MS = 20;

/** How long a failed start waits for the child's last output. */
const OUTPUT_DRAIN_MS_MAX = 2_000;

export class Proc {
  child: ChildProcess | undefined;
  output = '';
  #exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly file: string,
    readonly env: Record<string, string>,
    private readonly ready: RegExp,
  ) {}

  /** Starts the process and resolves with the readiness line's match (a restart searches only new output). */
  async start(): Promise<RegExpMatchArray> {
    const from = this.output.length;
    const child = spawn(process.execPath, [this.file], { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    killOnExit(child);
    const take = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-PROC_OUTPUT_CHARS_MAX);
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + PROC_READY_MS_MAX;
    while (Date.now() < deadline) {
      const match = this.output.slice(Math.max(0, Math.min(from, this.output.length) - 1)).match(this.ready);
      if (match !== null) return match;
      if (child.exitCode !== null) break;
      await sleep(READY_POLL_MS);
    }
    // A child's last output can arrive after its exit event: wait (bounded) for its pipes to close,
    // or the error below would lose the message that says why it exited.
    await Promise.race([Promise.all([child.stdout, child.stderr].map((p) => (p === null || p.closed ? undefined : once(p, 'close')))), sleep(OUTPUT_DRAIN_MS_MAX)]);
    throw new Error(`${this.name} not ready (exit ${String(child.exitCode)}):\n${this.output.slice(-4000)}`);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL, as a crash. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM, SIGKILL after PROC_STOP_MS_MAX. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    // The timer is cancelled once the child exits, so it never holds the test process open.
    const timeout = new AbortController();
    const done = await Promise.race([
      this.#exited.then(() => true),
      sleep(PROC_STOP_MS_MAX, false, { signal: timeout.signal }).catch(() => false),
    ]);
    timeout.abort();
    if (!done) await this.kill();
  }
}
