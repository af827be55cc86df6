// The OpenAPI 3.1 description of the write API, served at GET /openapi.json. The error-code enum
// and limits come from @cairn/wire so the document cannot drift from what the server enforces.
import { errorCodes, txLimitsDefault } from '@cairn/wire';

const errorResponse = (description: string): object => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorAnswer' } } },
});

const backpressure = {
  description: 'A bound is reached (backpressure), the API key has api_key_waiters_max transactions waiting (api_key_busy), or the gateway is stopping (unavailable). Retry after Retry-After seconds.',
  headers: { 'Retry-After': { schema: { type: 'integer', minimum: 1 }, description: 'seconds' } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorAnswer' } } },
};

// Refused before the body is read; the connection is then closed if a body was on its way.
const unsupportedMediaType = errorResponse(
  'unsupported_media_type: Content-Type is not application/json (a charset parameter, if any, must be utf-8). The body is not read.',
);

// Refused before the body is read, on every route: the defence against DNS rebinding.
const hostNotAllowed = errorResponse(
  'host_not_allowed: the Host header is missing or names a host this gateway was not configured for (allowed_hosts: the loopback names, the listen address, and any configured names). The body is not read.',
);

// Only when the gateway holds API keys (api_keys_file); refused before the body is read.
const unauthenticated = {
  description:
    'unauthenticated: this gateway holds API keys and the request carries no Authorization: Bearer token naming one (missing, malformed, two fields, or unknown: one code for all). The body is not read.',
  headers: { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'Bearer realm="cairn-ingest"' } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorAnswer' } } },
};

const forbiddenTag = errorResponse('forbidden_tag: the API key may not write under the hash tag of a record (error.path names it). Nothing of the transaction is written.');

// A write route: the bearer key when the gateway holds keys, no authentication when it holds none.
const writeSecurity = [{ apiKey: [] }, {}];

const jsonOnly = 'Content-Type must be application/json, optionally with charset=utf-8; any other type is 415.';

const waitParam = {
  name: 'wait',
  in: 'query',
  required: false,
  description: 'committed (default): answer when every shard committed it. accepted: answer once the broker stored it durably.',
  schema: { type: 'string', enum: ['committed', 'accepted'], default: 'committed' },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Cairn write API',
    version: '1.0.0',
    description:
      'Writes multi-record transactions to the Cairn ledger. Every record becomes a versioned, Merkle-logged entry on the shard chosen by its key\'s hash tag. Limits are the defaults; a cluster may configure them.',
  },
  paths: {
    '/v1/transactions': {
      post: {
        operationId: 'writeTransaction',
        summary: 'Write one transaction',
        security: writeSecurity,
        parameters: [waitParam],
        requestBody: { required: true, description: jsonOnly, content: { 'application/json': { schema: { $ref: '#/components/schemas/Transaction' } } } },
        responses: {
          '200': {
            description: 'The receipt: committed (default) or accepted (?wait=accepted). A retry with the same id and content returns the original receipt with replayed: true.',
            content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/Receipt' }, { $ref: '#/components/schemas/AcceptedReceipt' }] } } },
          },
          '400': errorResponse('Invalid transaction'),
          '401': unauthenticated,
          '403': forbiddenTag,
          '409': errorResponse('id_conflict (same id, different content) or precondition_failed'),
          '413': errorResponse('A size bound is exceeded'),
          '415': unsupportedMediaType,
          '421': hostNotAllowed,
          '503': backpressure,
          '504': errorResponse('No commit within the wait bound; the outcome is unknown: retry with the same id'),
        },
      },
    },
    '/v1/transactions/batch': {
      post: {
        operationId: 'writeTransactionBatch',
        summary: 'Write many transactions, each with its own outcome',
        security: writeSecurity,
        parameters: [waitParam],
        requestBody: { required: true, description: jsonOnly, content: { 'application/json': { schema: { $ref: '#/components/schemas/Batch' } } } },
        responses: {
          '200': {
            description: 'One result per transaction, in request order.',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchAnswer' } } },
          },
          '400': errorResponse('Invalid batch envelope'),
          '401': unauthenticated,
          '413': errorResponse('Body or batch too large'),
          '415': unsupportedMediaType,
          '421': hostNotAllowed,
          '503': backpressure,
        },
      },
    },
    '/openapi.json': { get: { operationId: 'openapi', summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' }, '421': hostNotAllowed } } },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics of this gateway process (requests, latencies, queue, flushes, publishes, commit waits, process)',
        responses: {
          '200': {
            description: 'Prometheus text exposition format 0.0.4; names and labels in docs/api.md. Answered whether or not the broker is connected.',
            content: { 'text/plain; version=0.0.4; charset=utf-8': { schema: { type: 'string' } } },
          },
          '421': hostNotAllowed,
        },
      },
    },
    '/healthz': {
      get: {
        operationId: 'health',
        summary: 'Liveness and queue figures',
        responses: { '200': { description: 'Connected to the broker' }, '421': hostNotAllowed, '503': { description: 'Not connected or stopping' } },
      },
    },
  },
  components: {
    securitySchemes: {
      apiKey: {
        type: 'http',
        scheme: 'bearer',
        description: 'An API key from `cairn-ingest apikey`; it may write only under the hash tags it was given (403 forbidden_tag otherwise; per item in a batch).',
      },
    },
    schemas: {
      Transaction: {
        type: 'object',
        additionalProperties: false,
        required: ['records'],
        properties: {
          id: {
            type: 'string',
            pattern: '^[A-Za-z0-9._:-]+$',
            maxLength: txLimitsDefault.id_bytes_max,
            description: 'Idempotency key. Omitted: the gateway assigns one starting with "~".',
          },
          records: { type: 'array', minItems: 1, maxItems: txLimitsDefault.tx_records_max, items: { $ref: '#/components/schemas/Record' } },
          meta: { type: 'object', description: `Any JSON object, at most ${txLimitsDefault.meta_bytes_max} bytes in canonical form.` },
        },
      },
      Record: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'value'],
        properties: {
          key: {
            type: 'string',
            minLength: 1,
            description: `At most ${txLimitsDefault.key_bytes_max} UTF-8 bytes, no control characters. A hash tag "{tag}" picks the shard; "{}" and an unclosed "{" are refused. Unique within a transaction.`,
          },
          value: { description: `Any JSON value, at most ${txLimitsDefault.value_bytes_max} bytes in canonical form.` },
          expect: {
            description: 'Precondition, only when every record of the transaction is on one shard.',
            oneOf: [
              { type: 'object', additionalProperties: false, required: ['version'], properties: { version: { type: 'integer', minimum: 1 } } },
              { type: 'object', additionalProperties: false, required: ['absent'], properties: { absent: { const: true } } },
            ],
          },
        },
      },
      Batch: {
        type: 'object',
        additionalProperties: false,
        required: ['transactions'],
        properties: { transactions: { type: 'array', minItems: 1, maxItems: txLimitsDefault.request_txs_max, items: { $ref: '#/components/schemas/Transaction' } } },
      },
      Receipt: {
        type: 'object',
        required: ['id', 'status', 'records', 'shards'],
        properties: {
          id: { type: 'string' },
          status: { const: 'committed' },
          replayed: { const: true, description: 'Present when this repeats an earlier commit of the same id and content.' },
          records: {
            type: 'array',
            items: {
              type: 'object',
              required: ['key', 'version', 'shard', 'leafIndex'],
              properties: { key: { type: 'string' }, version: { type: 'integer' }, shard: { type: 'integer' }, leafIndex: { type: 'integer' } },
            },
          },
          shards: {
            type: 'array',
            description: 'Per shard touched: a tree size and root (standard base64 of the 32-byte RFC 9162 root, as in proofs and checkpoints) that include the records.',
            items: {
              type: 'object',
              required: ['shard', 'size', 'root'],
              properties: { shard: { type: 'integer' }, size: { type: 'integer' }, root: { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=$' } },
            },
          },
        },
      },
      AcceptedReceipt: {
        type: 'object',
        required: ['id', 'status', 'shards'],
        properties: {
          id: { type: 'string' },
          status: { const: 'accepted' },
          shards: {
            type: 'array',
            items: { type: 'object', required: ['shard', 'seq'], properties: { shard: { type: 'integer' }, seq: { type: 'integer', description: 'stream sequence' } } },
          },
        },
      },
      BatchAnswer: {
        type: 'object',
        required: ['results'],
        properties: {
          results: {
            type: 'array',
            items: {
              type: 'object',
              required: ['status'],
              properties: {
                status: { type: 'integer', description: 'HTTP-style status of this transaction' },
                receipt: { oneOf: [{ $ref: '#/components/schemas/Receipt' }, { $ref: '#/components/schemas/AcceptedReceipt' }] },
                error: { $ref: '#/components/schemas/Error' },
              },
            },
          },
        },
      },
      Error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', enum: [...errorCodes], description: 'Stable code; see docs/api.md for the table.' },
          message: { type: 'string' },
          path: { type: 'string', description: 'Where in the request, e.g. records[2].key' },
        },
      },
      ErrorAnswer: { type: 'object', required: ['error'], properties: { error: { $ref: '#/components/schemas/Error' } } },
    },
  },
} as const;
