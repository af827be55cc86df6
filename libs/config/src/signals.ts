// How a service process stops on SIGINT/SIGTERM: the first signal starts a graceful stop bounded
// in time (exit 0 when it ends, 1 when it fails or overruns, so a supervisor restarts the process);
// a second signal exits at once with 130, as a shell's Ctrl-C does.

export interface StopOnSignalsOptions {
  /** Names the process in the line printed when the stop fails, e.g. 'cairn-shard 0'. */
  readonly name: string;
  /** The graceful stop. */
  readonly stop: () => Promise<void>;
  /** Exit 1 when the graceful stop has not ended after this long. */
  readonly stop_ms_max: number;
  /** Called once, on the first signal, before the stop starts (to say what it waits for). */
  readonly onSignal: (signal: NodeJS.Signals) => void;
}

export function stopOnSignals(o: StopOnSignalsOptions): void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) process.exit(130);
    o.onSignal(signal);
    const timer = setTimeout(() => process.exit(1), o.stop_ms_max);
    timer.unref();
    o.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`${o.name}: stop failed`, error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
