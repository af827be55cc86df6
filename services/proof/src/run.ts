import { loadConfig, usage } from './config.js';
import { startProof } from './service.js';

/** The proof service's process life: start, print where it listens, stop on a signal. */
export async function runProof(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  const config = loadConfig(process.env, argv);
  const log = (line: string): void => console.log(`cairn-proof: ${line}`);
  const service = await startProof(config, log);
  const head = service.signed();
  log(`listening on ${service.url} (origin ${config.origin}, shards ${config.shards}, epoch every ${config.epoch_interval_ms} ms, state log ${service.dataDir} at size ${head.size})`);
  log(`verifier key ${service.verifierKey}`);
  let signals = 0;
  const onSignal = (signal: string): void => {
    signals += 1;
    if (signals > 1) process.exit(130);
    log(`${signal}, finishing the epoch and open requests (at most ${config.shutdown_ms_max} ms)`);
    const timer = setTimeout(() => process.exit(1), config.shutdown_ms_max + 1_000);
    timer.unref();
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('cairn-proof: stop failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}
