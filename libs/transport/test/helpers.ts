import { startNatsServer, type NatsServer } from '@cairn/testkit';
import { jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connectTransport, streamLayout, type StreamLayout, type Transport } from '../src/index.js';

export interface Rig {
  server: NatsServer;
  transport: Transport;
  layout: StreamLayout;
  close(): Promise<void>;
}

/** A real nats-server, a transport on it and the layout's stream. */
export async function rig(shardCount = 3, opts: { stream?: string } = {}): Promise<Rig> {
  const server = await startNatsServer();
  const layout = streamLayout({ shard_count: shardCount, ...(opts.stream === undefined ? {} : { stream: opts.stream }) });
  const transport = await connectTransport({ servers: server.url, layout, publish_timeout_ms: 3_000 });
  await transport.ensureStream();
  return {
    server,
    transport,
    layout,
    async close() {
      await transport.close();
      await server.stop();
    },
  };
}

/** Every integration test has a bound: a hang fails the test instead of the whole run. */
export const LIMIT = { timeout: 60_000 } as const;

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Everything stored in the stream, read back by sequence through the JetStream API. */
export async function storedMessages(t: Transport, fromSeq = 1): Promise<StoredMsg[]> {
  const jsm = await jetstreamManager(t.nc);
  const info = await jsm.streams.info(t.layout.stream);
  const out: StoredMsg[] = [];
  for (let seq = Math.max(fromSeq, info.state.first_seq); seq <= info.state.last_seq && info.state.messages > 0; seq += 1) {
    const m = await jsm.streams.getMessage(t.layout.stream, { seq });
    if (m === null) throw new Error(`stream message ${seq} is missing`);
    out.push(m);
  }
  return out;
}

export async function streamLastSeq(t: Transport): Promise<number> {
  const jsm = await jetstreamManager(t.nc);
  return (await jsm.streams.info(t.layout.stream)).state.last_seq;
}

/** Polls `check` every 10 ms until it holds or `ms` passes; never loops unbounded. */
export async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
