// OpenAPI 3.1 description of the read-and-verify API (docs/design/proofs.md is the normative text).
import { errorCodes } from '@cairn/wire';

const b64 = { type: 'string', contentEncoding: 'base64' };
const b64List = { type: 'array', items: b64 };
const size = (name: string, description: string, required = false): object => ({
  name,
  in: 'query',
  required,
  description,
  schema: { type: 'integer', minimum: 1 },
});
const json = (ref: string): object => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const errors = {
  '400': { description: 'bad input (code in the body)', content: json('Error') },
  '404': { description: 'not_found', content: json('Error') },
  '413': { description: 'too_many_records (history_versions_max, tx_records_max) or key_too_large', content: json('Error') },
  '500': { description: 'internal (details are not shown)', content: json('Error') },
  '503': { description: 'backpressure / unavailable; see Retry-After', content: json('Error') },
  '504': { description: 'a shard did not answer in time, or no answer within answer_ms_max', content: json('Error') },
};

export function openApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cairn proof service',
      version: '1',
      description:
        'Signed checkpoints of the global state log and reads proven against them. Every data answer carries ' +
        '`checkpoint` (the signed note it is valid at) and `state` (the global state proven into it). ' +
        'Clients verify everything themselves; see docs/design/proofs.md.',
    },
    paths: {
      '/v1/checkpoint': {
        get: {
          summary: 'The newest signed checkpoint (C2SP signed note); JSON with Accept: application/json',
          responses: {
            '200': {
              description: 'the signed note',
              content: { 'text/plain': { schema: { type: 'string' } }, ...json('Checkpoint') },
            },
          },
        },
      },
      '/v1/keys/{key}': {
        get: {
          summary: 'The latest version of a key (or as of state `at`), with its proof chain',
          parameters: [{ name: 'key', in: 'path', required: true, description: 'URL-encoded key ("/" as %2F)', schema: { type: 'string' } }, size('at', 'answer as of this checkpoint size')],
          responses: { '200': { description: 'the record', content: json('KeyAnswer') }, ...errors },
        },
      },
      '/v1/keys/{key}/history': {
        get: {
          summary: 'Every version of a key, oldest first, each proven',
          parameters: [{ name: 'key', in: 'path', required: true, schema: { type: 'string' } }, size('at', 'as of this checkpoint size')],
          responses: { '200': { description: 'the versions', content: json('RecordsAnswer') }, ...errors },
        },
      },
      '/v1/transactions/{id}': {
        get: {
          summary: 'Every record of a transaction, on every shard, proven at one state',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'the records', content: json('RecordsAnswer') }, ...errors },
        },
      },
      '/v1/consistency': {
        get: {
          summary: 'State-log consistency proof from..to, and every shard consistency proof between the two states',
          parameters: [size('from', 'older checkpoint size', true), size('to', 'newer checkpoint size (default: current)')],
          responses: { '200': { description: 'the proofs', content: json('ConsistencyAnswer') }, ...errors },
        },
      },
      '/v1/shards/{shard}/consistency': {
        get: {
          summary: "One shard's RFC 9162 consistency proof from tree size `from` to `to`; `to` at most that shard's size in the current signed state",
          parameters: [
            { name: 'shard', in: 'path', required: true, description: 'shard index, 0 .. shards-1', schema: { type: 'integer', minimum: 0 } },
            size('from', 'older shard tree size (a receipt\'s size)', true),
            size('to', "newer shard tree size, at most the shard's size in the current signed state", true),
          ],
          responses: {
            '200': { description: 'the proof (empty when from = to)', content: json('ShardConsistencyAnswer') },
            '400': { description: 'bad_query: from or to missing, malformed, or from > to', content: json('Error') },
            '404': { description: "not_found: no such shard, or to is past the shard's size in the current signed state", content: json('Error') },
            '500': errors['500'],
            '503': errors['503'],
            '504': errors['504'],
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness and the newest signed size', responses: { '200': { description: 'ok' }, '503': { description: 'epochs are failing' } } } },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics of this process: requests by route, proven-read latency, epochs, seal duration, signed size, shard requests, process',
          responses: {
            '200': {
              description: 'Prometheus text exposition format 0.0.4; names and labels in docs/api.md. Answered while epochs fail too.',
              content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } },
            },
          },
        },
      },
    },
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string', enum: [...errorCodes] }, message: { type: 'string' }, path: { type: 'string' } },
            },
          },
        },
        Checkpoint: {
          type: 'object',
          required: ['checkpoint', 'origin', 'size', 'root'],
          properties: { checkpoint: { type: 'string' }, origin: { type: 'string' }, size: { type: 'integer' }, root: b64 },
        },
        Entry: {
          type: 'object',
          required: ['txId', 'key', 'version', 'valueHash', 'metaHash'],
          properties: { txId: { type: 'string' }, key: { type: 'string' }, version: { type: 'integer' }, valueHash: b64, metaHash: b64 },
        },
        State: {
          type: 'object',
          description: 'bytes = encoded global state; inclusion = its state-log leaf -> state-log root at the checkpoint size',
          required: ['index', 'bytes', 'entry', 'inclusion'],
          properties: { index: { type: 'integer' }, bytes: b64, entry: { $ref: '#/components/schemas/Entry' }, inclusion: b64List },
        },
        Record: {
          type: 'object',
          description: "inclusion = record leaf -> shard root at the shard's size in state",
          required: ['shard', 'leafIndex', 'entry', 'value', 'erased', 'meta', 'inclusion'],
          properties: {
            shard: { type: 'integer' },
            leafIndex: { type: 'integer' },
            entry: { $ref: '#/components/schemas/Entry' },
            value: { oneOf: [b64, { type: 'null' }] },
            erased: { type: 'boolean' },
            meta: b64,
            inclusion: b64List,
          },
        },
        KeyAnswer: {
          type: 'object',
          required: ['checkpoint', 'state', 'record'],
          properties: { checkpoint: { type: 'string' }, state: { $ref: '#/components/schemas/State' }, record: { $ref: '#/components/schemas/Record' } },
        },
        RecordsAnswer: {
          type: 'object',
          required: ['checkpoint', 'state', 'records'],
          properties: {
            checkpoint: { type: 'string' },
            state: { $ref: '#/components/schemas/State' },
            records: { type: 'array', items: { $ref: '#/components/schemas/Record' } },
          },
        },
        ShardConsistencyAnswer: {
          type: 'object',
          required: ['shard', 'from', 'to', 'proof'],
          properties: { shard: { type: 'integer' }, from: { type: 'integer' }, to: { type: 'integer' }, proof: b64List },
        },
        ConsistencyAnswer: {
          type: 'object',
          required: ['checkpoint', 'from', 'to', 'proof', 'shards'],
          properties: {
            checkpoint: { type: 'string' },
            from: { $ref: '#/components/schemas/State' },
            to: { $ref: '#/components/schemas/State' },
            proof: b64List,
            shards: { type: 'array', items: { type: 'object', properties: { shard: { type: 'integer' }, proof: b64List } } },
          },
        },
      },
    },
  };
}
