export {
  TransportError,
  TransportErrorCode,
  isTransportError,
  type TransportErrorDetails,
} from './errors.js';
export {
  streamLayout,
  shardSubject,
  shardSubjects,
  shardOfSubject,
  commitSubject,
  commitSubjectAll,
  readSubject,
  claimStream,
  claimSubject,
  claimSubjectAll,
  LAYOUT_DEFAULTS,
  SHARD_COUNT_MAX,
  REPLICAS_MAX,
  DUPLICATE_WINDOW_MS_MAX,
  type StreamLayout,
  type StreamLayoutOptions,
} from './layout.js';
export { streamConfig, claimStreamConfig, layoutMismatches, META_SHARD_COUNT } from './stream.js';
export { type StoredLast } from './get.js';
export {
  ATOMIC_BATCH_MSGS_MAX,
  ATOMIC_BATCHES_IN_FLIGHT_MAX_DEFAULT,
  PUBLISH_TIMEOUT_MS_DEFAULT,
  MSG_ID_LENGTH_MAX,
  PUBLISH_OVERHEAD_BYTES_MAX,
  type OutboundMessage,
  type PublishAck,
  type AtomicBatchAck,
} from './publish.js';
export {
  CONSUME_DEFAULTS,
  BATCH_MSGS_MAX_LIMIT,
  type ConsumeOptions,
  type ConsumedMessage,
  type BatchHandler,
  type ShardConsumer,
} from './consume.js';
export { judgeDelivery, type DeliveryPosition, type DeliveryVerdict } from './order.js';
export {
  SERVE_DEFAULTS,
  REQUEST_TIMEOUT_MS_MAX,
  HDR_ERROR_CODE,
  type IncomingRequest,
  type RequestHandler,
  type ServeOptions,
  type Service,
} from './rpc.js';
export {
  Transport,
  connectTransport,
  TRANSPORT_DEFAULTS,
  SERVER_VERSION_MIN,
  type TransportOptions,
  type EventMessage,
  type EventSubscription,
} from './transport.js';
