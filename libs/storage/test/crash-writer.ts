// The writer process the crash test kills with SIGKILL. It is not a test: node --test also loads
// every file under test/, so it does nothing unless started with --crash-writer.
import { openStore } from '../src/index.js';
import { crashBatch } from './helpers.js';

/** Bounds the writer's run even if nobody kills it. */
const WRITER_BATCHES_MAX = 100_000;

/** At most this many appends issued and not yet resolved (window 1: each awaited in turn). */
const WINDOW_MAX = 8;

async function main(dir: string, window: number): Promise<void> {
  if (!Number.isSafeInteger(window) || window < 1 || window > WINDOW_MAX) throw new RangeError(`window ${window}`);
  const store = await openStore({ dir, limits: { inline_records_max: 16 } });
  const start = store.head().seq + 1;
  process.stdout.write(`open ${start - 1}\n`);
  // With a window above 1 the next batches are decided while a write is in flight (pipelining).
  const issued: { seq: number; done: Promise<unknown> }[] = [];
  const settle = async (): Promise<void> => {
    const oldest = issued.shift();
    if (oldest === undefined) return;
    await oldest.done;
    // Printed only after the synced write returned: every printed seq must survive the kill.
    process.stdout.write(`committed ${oldest.seq}\n`);
  };
  for (let seq = start; seq < start + WRITER_BATCHES_MAX; seq += 1) {
    issued.push({ seq, done: store.append(crashBatch(seq)) });
    if (issued.length >= window) await settle();
  }
  while (issued.length > 0) await settle();
  await store.close();
}

if (process.argv[2] === '--crash-writer' && process.argv[3] !== undefined) {
  main(process.argv[3], Number(process.argv[4] ?? 1)).catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
