// Throughput of the ways to put messages into the ledger stream, against a real nats-server (file
// storage) on this machine. The baseline is one awaited JetStream publish at a time, measured in
// the same run; figures are printed as ratios to it. Not a test: nothing here asserts.
import { startNatsServer } from '@cairn/testkit';
import { connectTransport, shardSubject, streamLayout, type OutboundMessage, type Transport } from '../src/index.js';

const PAYLOAD_BYTES = 256;
const SHARDS = 4;
const RUN_MS = 2_000;

interface Figure {
  name: string;
  msgsPerSec: number;
}

/** Runs `step` (which stores `msgsPerStep` messages) repeatedly for RUN_MS; returns messages per second. */
async function measure(msgsPerStep: number, step: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i += 1) await step(-1 - i); // warm-up
  const start = performance.now();
  let steps = 0;
  while (performance.now() - start < RUN_MS) {
    await step(steps);
    steps += 1;
  }
  return (steps * msgsPerStep * 1_000) / (performance.now() - start);
}

function batch(t: Transport, size: number, tag: string): OutboundMessage[] {
  const data = new Uint8Array(PAYLOAD_BYTES).fill(7);
  return Array.from({ length: size }, (_, i) => ({ subject: shardSubject(t.layout, i % SHARDS), data, msgId: `${tag}.${i}` }));
}

async function main(): Promise<void> {
  const server = await startNatsServer();
  const t = await connectTransport({ servers: server.url, layout: streamLayout({ shard_count: SHARDS }) });
  await t.ensureStream();
  const data = new Uint8Array(PAYLOAD_BYTES).fill(7);
  const figures: Figure[] = [];
  try {
    figures.push({
      name: 'publish, one awaited at a time (baseline)',
      msgsPerSec: await measure(1, (i) => t.publish({ subject: shardSubject(t.layout, 0), data, msgId: `p${i}` })),
    });
    figures.push({
      name: 'publishAtomic, 1 message',
      msgsPerSec: await measure(1, (i) => t.publishAtomic(batch(t, 1, `a1.${i}`))),
    });
    for (const size of [4, 100, 1_000]) {
      figures.push({
        name: `publishAtomic, ${size} messages over ${SHARDS} shards`,
        msgsPerSec: await measure(size, (i) => t.publishAtomic(batch(t, size, `a${size}.${i}`))),
      });
    }
    const concurrent = 16;
    figures.push({
      name: `publishAtomic, 100 messages, ${concurrent} batches at once`,
      msgsPerSec: await measure(100 * concurrent, (i) =>
        Promise.all(Array.from({ length: concurrent }, (_, c) => t.publishAtomic(batch(t, 100, `c${i}.${c}`)))),
      ),
    });
  } finally {
    await t.close();
    await server.stop();
  }
  const base = figures[0]?.msgsPerSec ?? 1;
  console.log(`nats-server ${PAYLOAD_BYTES}-byte messages with msg ids, file storage, ${RUN_MS} ms per case`);
  for (const f of figures) {
    console.log(`${f.name.padEnd(58)} ${Math.round(f.msgsPerSec).toString().padStart(8)} msgs/s  x${(f.msgsPerSec / base).toFixed(2)}`);
  }
}

await main();
