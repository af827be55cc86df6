import { stopOnSignals } from '@cairn/config';
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
  stopOnSignals({
    name: 'cairn-proof',
    stop: () => service.stop(),
    stop_ms_max: config.shutdown_ms_max + 1_000,
    onSignal: (signal) => log(`${signal}, finishing the epoch and open requests (at most ${config.shutdown_ms_max} ms)`),
  });
}
