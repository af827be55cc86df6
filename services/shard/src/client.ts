// A typed client of one shard's read API, for the proof service and the tests. Error replies come
// back as ShardErrors with the shard's stable code; transport failures keep their TransportError.
import { isTransportError, readSubject, TransportErrorCode, type Transport } from '@cairn/transport';
import { isShardErrorCode, ShardError } from './errors.js';
import type { HeadJson, LeafJson, ProvenJson } from './reads.js';

export const READ_TIMEOUT_MS_DEFAULT = 10_000;

export interface ReadClientOptions {
  readonly timeout_ms?: number;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export class ShardReadClient {
  readonly subject: string;
  readonly #timeoutMs: number;

  constructor(
    private readonly transport: Transport,
    readonly shard: number,
    options: ReadClientOptions = {},
  ) {
    this.subject = readSubject(transport.layout, shard);
    this.#timeoutMs = options.timeout_ms ?? READ_TIMEOUT_MS_DEFAULT;
  }

  async call<T>(request: Record<string, unknown>): Promise<T> {
    let reply: Uint8Array;
    try {
      reply = await this.transport.request(this.subject, utf8.encode(JSON.stringify(request)), this.#timeoutMs);
    } catch (error) {
      const remote = isTransportError(error, TransportErrorCode.REMOTE_ERROR) ? error.details.remote_code : undefined;
      if (isShardErrorCode(remote)) throw new ShardError(remote, error instanceof Error ? error.message : String(error), { cause: error });
      if (isTransportError(error, TransportErrorCode.BACKPRESSURE)) throw new ShardError('SHARD_BUSY', error.message, { cause: error });
      throw error;
    }
    return JSON.parse(utf8Decoder.decode(reply)) as T;
  }

  head(): Promise<HeadJson & { seq: number }> {
    return this.call({ op: 'head' });
  }
  headAt(seq: number): Promise<HeadJson & { seq: number; atSeq: number }> {
    return this.call({ op: 'headAt', seq });
  }
  latest(key: string): Promise<{ size: number; leaf: LeafJson }> {
    return this.call({ op: 'latest', key });
  }
  at(key: string, size: number): Promise<{ size: number; leaf: LeafJson }> {
    return this.call({ op: 'at', key, size });
  }
  /** `at`, the leaf's inclusion proof at `size` and its transaction's meta, in one request. */
  proven(key: string, size: number): Promise<ProvenJson> {
    return this.call({ op: 'proven', key, size });
  }
  history(key: string, opts: { fromVersion?: number; limit?: number } = {}): Promise<{ size: number; leaves: LeafJson[] }> {
    return this.call({ op: 'history', key, ...opts });
  }
  transaction(id: string): Promise<{ size: number; id: string; contentHash: string; meta: string; leaves: LeafJson[] }> {
    return this.call({ op: 'transaction', id });
  }
  leaf(index: number): Promise<{ size: number; leaf: LeafJson }> {
    return this.call({ op: 'leaf', index });
  }
  leaves(start: number, count: number): Promise<{ size: number; leaves: LeafJson[] }> {
    return this.call({ op: 'leaves', start, count });
  }
  inclusion(index: number, size: number): Promise<{ index: number; size: number; root: string; proof: string[] }> {
    return this.call({ op: 'inclusion', index, size });
  }
  consistency(size1: number, size2: number): Promise<{ size1: number; size2: number; root1: string; root2: string; proof: string[] }> {
    return this.call({ op: 'consistency', size1, size2 });
  }
}
