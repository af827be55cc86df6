// Chaos beside the load: after `kill_after_ms` the process is killed with SIGKILL (a crash, no
// shutdown), stays down `down_ms`, and is started again on the same data directory. The load
// goes on throughout; afterwards the checker must still find every acknowledged transaction
// present and proven. A shard's promise is that a commit it acknowledged survives a crash at any
// instant (one synced RocksDB batch per commit, the stream as write-ahead log).
import { setTimeout as sleep } from 'node:timers/promises';

/** Longest a chaos step may wait before its kill; the load phase is usually shorter. */
export const CHAOS_DELAY_MS_MAX = 600_000;

/** What chaos needs of a process: testkit's Proc has exactly this. */
export interface Killable {
  kill(): Promise<void>;
  start(): Promise<unknown>;
}

export interface ChaosOptions {
  readonly kill_after_ms: number;
  readonly down_ms: number;
}

export interface ChaosLog {
  kills: number;
  restarts: number;
}

/** A RunHooks.during that crashes `proc` once and restarts it; the restart happens even if the load ended. */
export function crashOnce(proc: Killable, o: ChaosOptions, log: ChaosLog): (signal: AbortSignal) => Promise<void> {
  for (const [name, value] of Object.entries(o)) {
    if (!Number.isSafeInteger(value) || value < 0 || value > CHAOS_DELAY_MS_MAX) throw new RangeError(`${name} must be 0..${CHAOS_DELAY_MS_MAX} ms, got ${String(value)}`);
  }
  return async (signal) => {
    try {
      await sleep(o.kill_after_ms, undefined, { signal });
    } catch {
      return; // the load ended first: nothing was killed
    }
    await proc.kill();
    log.kills += 1;
    await sleep(o.down_ms);
    await proc.start();
    log.restarts += 1;
  };
}
