#!/usr/bin/env node
// cairn-ingest: reads config (flags > env > defaults), starts, stops gracefully on SIGINT/SIGTERM.
import { loadConfig, usage } from './config.js';
import { startIngest } from './service.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  const config = loadConfig(process.env, argv);
  const service = await startIngest(config);
  console.log(`cairn-ingest listening on ${service.url} (shards ${config.shards}, nats ${config.nats_url}, session ${service.session})`);
  let signals = 0;
  const onSignal = (signal: string): void => {
    signals += 1;
    if (signals > 1) process.exit(130); // a second Ctrl-C does not wait
    console.log(`cairn-ingest: ${signal}, finishing open requests (at most ${config.shutdown_ms_max} ms)`);
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('cairn-ingest: stop failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(`cairn-ingest: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
