#!/usr/bin/env node
// cairn-shard: reads config (flags > env > defaults), starts one shard worker, stops gracefully on
// SIGINT/SIGTERM. Exits non-zero when consumption fails so a supervisor restarts it; the restart
// resumes after the last committed sequence (exactly once).
import { stopOnSignals } from '@cairn/config';
import { loadConfig, usage } from './config.js';
import { startShard } from './worker.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  const config = loadConfig(process.env, argv);
  const log = (line: string): void => console.log(`cairn-shard ${config.shard}: ${line}`);
  const worker = await startShard(config, log);
  const head = worker.store.head();
  if (worker.metricsHttp !== undefined) log(`metrics on ${worker.metricsHttp.url}/metrics`);
  log(`serving shard ${config.shard}/${config.shards} from ${config.data_dir} (size ${head.size}, seq ${head.seq}, nats ${config.nats_url}, durable ${config.durable})`);
  worker.done.then(
    () => undefined,
    (error: unknown) => {
      console.error(`cairn-shard ${config.shard}: consumption failed:`, error);
      process.exit(1);
    },
  );
  stopOnSignals({
    name: `cairn-shard ${config.shard}`,
    stop: () => worker.stop(),
    stop_ms_max: config.shutdown_ms_max,
    onSignal: (signal) => log(`${signal}, finishing the batch in hand (at most ${config.shutdown_ms_max} ms)`),
  });
}

main().catch((error: unknown) => {
  console.error(`cairn-shard: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
