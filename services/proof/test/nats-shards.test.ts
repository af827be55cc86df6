// NatsShards' mapping of the shards' stable error codes onto the @cairn/wire table, with a
// scripted transport (no broker): what the HTTP answer's status and Retry-After come from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransportError, TransportErrorCode, streamLayout, type Transport } from '@cairn/transport';
import { CairnError } from '@cairn/wire';
import { NatsShards } from '../src/index.js';

function failingWith(error: unknown): NatsShards {
  const transport = {
    layout: streamLayout({ shard_count: 2 }),
    request: async () => {
      throw error;
    },
  } as unknown as Transport;
  return new NatsShards(transport, 1_000);
}

function remote(code: string): TransportError {
  return new TransportError(TransportErrorCode.REMOTE_ERROR, `shard said ${code}`, { details: { remote_code: code } });
}

async function codeOf(shards: NatsShards): Promise<CairnError> {
  try {
    await shards.inclusionProof(1, 3, 10);
  } catch (error) {
    assert.ok(error instanceof CairnError, String(error));
    return error;
  }
  throw new Error('expected a refusal');
}

test('shard errors map to the wire table: transient ones are 503 with Retry-After, bugs are 500', async () => {
  const cases: [unknown, string, number][] = [
    [remote('SHARD_NOT_FOUND'), 'not_found', 404],
    [remote('SHARD_BUSY'), 'backpressure', 503],
    [remote('SHARD_UNAVAILABLE'), 'unavailable', 503],
    // A shard restored from an older copy replays the stream: it has not yet reached a size a
    // sealed state lists. The reader should retry, not see an internal error.
    [remote('SHARD_OUT_OF_RANGE'), 'unavailable', 503],
    [remote('SHARD_HEAD_TIMEOUT'), 'timeout', 504],
    [remote('SHARD_CORRUPT'), 'internal', 500],
    [remote('SHARD_BAD_REQUEST'), 'internal', 500],
    [new TransportError(TransportErrorCode.TIMEOUT, 'slow'), 'timeout', 504],
    [new TransportError(TransportErrorCode.NO_RESPONDERS, 'nobody'), 'unavailable', 503],
  ];
  for (const [error, code, status] of cases) {
    const mapped = await codeOf(failingWith(error));
    assert.equal(mapped.code, code, (error as Error).message);
    assert.equal(mapped.status, status, (error as Error).message);
    if (status === 503) assert.ok((mapped.retryAfterSeconds ?? 0) >= 1, `${code} carries Retry-After`);
  }
});

test('provenAt: one `proven` request, or the three older ones from a shard that refuses it, answer the same', async () => {
  const leaf = { index: 4, txId: 't1', key: '{k}:1', version: 2, valueHash: 'AQ==', metaHash: 'Ag==', value: 'eyJ2IjoxfQ==', erased: false };
  const proof = ['Aw==', 'BA=='];
  const meta = 'e30=';
  const scripted = (knowsProven: boolean): { shards: NatsShards; ops: string[] } => {
    const ops: string[] = [];
    const answers: Record<string, unknown> = {
      at: { size: 9, leaf },
      inclusion: { index: 4, size: 9, root: 'BQ==', proof },
      transaction: { size: 9, id: 't1', contentHash: 'Bg==', meta, leaves: [leaf] },
      meta: { id: 't1', meta },
      proven: { size: 9, leaf, proof, meta },
    };
    const transport = {
      layout: streamLayout({ shard_count: 2 }),
      request: async (_subject: string, data: Uint8Array) => {
        const op = (JSON.parse(new TextDecoder().decode(data)) as { op: string }).op;
        ops.push(op);
        // An older shard knows neither `proven` nor `meta`.
        if ((op === 'proven' || op === 'meta') && !knowsProven) throw remote('SHARD_BAD_REQUEST');
        return new TextEncoder().encode(JSON.stringify(answers[op]));
      },
    } as unknown as Transport;
    return { shards: new NatsShards(transport, 1_000), ops };
  };
  const current = scripted(true);
  const older = scripted(false);
  const fromCurrent = await current.shards.provenAt(1, '{k}:1', 9);
  assert.deepEqual(current.ops, ['proven']);
  assert.deepEqual(await older.shards.provenAt(1, '{k}:1', 9), fromCurrent);
  assert.deepEqual(older.ops.sort(), ['at', 'inclusion', 'meta', 'proven', 'transaction']);
  older.ops.length = 0;
  assert.deepEqual(await older.shards.provenAt(1, '{k}:1', 9), fromCurrent);
  assert.deepEqual(older.ops.sort(), ['at', 'inclusion', 'transaction'], 'a shard that refused `proven` and `meta` is not asked them again');
  assert.equal(fromCurrent?.meta.length, 2);
  assert.equal(fromCurrent?.inclusion.length, 2);
});
