// The bench's stand-in shards, in a worker thread with their own NATS connection: the main
// thread's CPU per request is then the gateway's alone (plus the bare server's), not the
// stand-ins' decoding, deciding and ever-growing state, which would also swell the gateway's GC.
import { parentPort, workerData } from 'node:worker_threads';
import { connectTransport, type StreamLayout } from '@cairn/transport';
import { startMiniShard, type MiniShard } from '../test/mini-shard.js';

export interface ShardWorkerSpec {
  readonly nats_url: string;
  readonly layout: StreamLayout;
}

async function run(spec: ShardWorkerSpec, port: NonNullable<typeof parentPort>): Promise<void> {
  const transport = await connectTransport({ servers: spec.nats_url, layout: spec.layout, name: 'bench-shards' });
  const shards: MiniShard[] = [];
  for (let shard = 0; shard < spec.layout.shard_count; shard++) shards.push(await startMiniShard(transport, shard));
  port.once('message', () => {
    void (async () => {
      for (const s of shards) await s.stop();
      await transport.close();
      port.postMessage('stopped');
    })();
  });
  port.postMessage('ready');
}

if (parentPort !== null) {
  const port = parentPort;
  run(workerData as ShardWorkerSpec, port).catch((e: unknown) => port.postMessage({ error: String(e) }));
}
