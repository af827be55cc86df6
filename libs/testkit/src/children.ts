// Every child process a test starts (nats-server, service processes) is killed when the test
// process ends, so that no test ever leaks one, whether it ends normally or by a runner's signal.
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function killAllNow(): void {
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllNow);
  // A signal skips 'exit' handlers, so catch the ones a test runner sends on timeout.
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15]] as const) {
    process.once(signal, () => {
      killAllNow();
      process.exit(128 + number);
    });
  }
}

/** Kills `child` when this process ends, unless it has exited by then. */
export function killOnExit(child: ChildProcess): void {
  installHooks();
  live.add(child);
  child.once('exit', () => live.delete(child));
}
