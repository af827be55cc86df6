// The writer process the crash test kills with SIGKILL. It is not a test: node --test also loads
// every file under test/, so it does nothing unless started with --crash-writer.
import { openStore } from '../src/index.js';
import { crashBatch } from './helpers.js';

/** Bounds the writer's run even if nobody kills it. */
const WRITER_BATCHES_MAX = 100_000;

async function main(dir: string): Promise<void> {
  const store = await openStore({ dir, limits: { inline_records_max: 16 } });
  const start = store.head().seq + 1;
  process.stdout.write(`open ${start - 1}\n`);
  for (let seq = start; seq < start + WRITER_BATCHES_MAX; seq += 1) {
    await store.append(crashBatch(seq));
    // Printed only after the synced write returned: every printed seq must survive the kill.
    process.stdout.write(`committed ${seq}\n`);
  }
  await store.close();
}

if (process.argv[2] === '--crash-writer' && process.argv[3] !== undefined) {
  main(process.argv[3]).catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
