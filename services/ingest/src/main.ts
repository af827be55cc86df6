#!/usr/bin/env node
// cairn-ingest: reads config (flags > env > defaults), starts, stops gracefully on SIGINT/SIGTERM,
// reads its API keys file again on SIGHUP.
// With workers > 1 a primary forks that many gateway processes sharing the HTTP port: the
// gateway holds no state another request needs, so it scales out by process (and by host).
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { ApiKeys, newApiKey } from './auth.js';
import { loadConfig, usage, type IngestConfig } from './config.js';
import { startIngest } from './service.js';

const who = cluster.isWorker ? `worker ${cluster.worker?.id ?? '?'} ` : '';
// Taken as soon as the process runs, before any start (which may wait for the broker) and in a
// worker the primary has just forked: SIGHUP's default action would end the process.
let onHangup = (): void => console.error(`cairn-ingest ${who}not started yet: the keys file is read at start`);
process.on('SIGHUP', () => onHangup());

async function runGateway(config: IngestConfig): Promise<void> {
  const service = await startIngest(config);
  onHangup = () => {
    const { ok, message } = service.reloadApiKeys();
    (ok ? console.log : console.error)(`cairn-ingest ${who}${message}`);
  };
  const auth = service.apiKeys > 0 ? `${service.apiKeys} API keys` : 'no authentication';
  console.log(`cairn-ingest ${who}listening on ${service.url} (shards ${config.shards}, nats ${config.nats_url}, session ${service.session}, ${auth})`);
  onStopSignal(config, () => service.stop());
}

// Forks the workers; a worker that dies on its own takes the whole gateway down (exit 1), so a
// supervisor sees the failure instead of a gateway silently running at reduced capacity.
function runPrimary(config: IngestConfig): void {
  let stopping = false;
  for (let i = 0; i < config.workers; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.error(`cairn-ingest: worker ${worker.id} exited (${code ?? signal}); stopping`);
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
      process.exitCode = 1;
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(process.exitCode ?? 0);
  });
  // Every worker holds its own copy of the keys.
  onHangup = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
  };
  onStopSignal(config, async () => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    await new Promise<void>((resolve) => cluster.on('exit', () => Object.keys(cluster.workers ?? {}).length === 0 && resolve()));
  });
}

function onStopSignal(config: IngestConfig, stop: () => Promise<void>): void {
  let signals = 0;
  const onSignal = (signal: string): void => {
    signals += 1;
    // A second Ctrl-C does not wait. Workers leave that to the primary: Ctrl-C reaches them both
    // from the terminal and from the primary.
    if (signals > 1) {
      if (!cluster.isWorker) process.exit(130);
      return;
    }
    if (!cluster.isWorker) console.log(`cairn-ingest: ${signal}, finishing open requests (at most ${config.shutdown_ms_max} ms)`);
    stop().then(
      () => process.exit(process.exitCode ?? 0),
      (error: unknown) => {
        console.error('cairn-ingest: stop failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

// `cairn-ingest apikey --name shop42-backend --tags shop42[,shop43|*]`: a new token for the client
// (shown once) and the entry for the gateway's api_keys_file, which holds only its SHA-256.
function printApiKey(argv: readonly string[]): void {
  const value = (flag: string): string => {
    const at = argv.indexOf(flag);
    const v = at < 0 ? undefined : argv[at + 1];
    if (v === undefined) throw new Error(`apikey needs ${flag}`);
    return v;
  };
  const { token, entry } = newApiKey(value('--name'), value('--tags').split(','), randomBytes(32));
  // The entry is checked the way the gateway will read it, so a bad name or tag fails here.
  ApiKeys.parse(JSON.stringify({ keys: [entry] }));
  console.log(`token (give it to the client; it is not stored anywhere): ${token}`);
  console.log(`entry for api_keys_file "keys": ${JSON.stringify(entry)}`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === 'apikey') {
    printApiKey(argv.slice(1));
    return;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  const config = loadConfig(process.env, argv);
  if (config.workers > 1 && cluster.isPrimary) runPrimary(config);
  else await runGateway(config);
}

main().catch((error: unknown) => {
  console.error(`cairn-ingest: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
