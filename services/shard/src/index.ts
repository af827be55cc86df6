export {
  loadConfig,
  checkConfig,
  configDefaults,
  envName,
  flagName,
  usage,
  parseListen,
  type ListenAddress,
  numberSettings,
  stringSettings,
  type ShardConfig,
} from './config.js';
export { ShardError, shardErrorCodes, isShardErrorCode, asShardError, isInputError, type ShardErrorCode } from './errors.js';
export { decodeMessage, planRuns, runTxs, type Decoded, type InboundMessage, type Layout, type Run, type RunLimits } from './plan.js';
export { Boundaries } from './boundaries.js';
export { Applier, EVENT_BYTES_MAX_DEFAULT, type ApplierOptions, type ApplyStats } from './apply.js';
export { ReadApi, readOps, leafJson, b64, type ReadOp, type ReadObserver, type LeafJson, type ProvenJson, type HeadJson, type ReadLimits, type StreamView } from './reads.js';
export { ShardReadClient, READ_TIMEOUT_MS_DEFAULT, type ReadClientOptions } from './client.js';
export { startShard, storageLimitsForShard, type ShardWorker, type OpenShardStore } from './worker.js';
export { ShardMetrics, CONSUMER_INFO_MS_MAX, type ConsumerFigures, type ShardMetricSources } from './metrics.js';
export { listenMetrics, type MetricsHttp, type MetricsHttpOptions } from './metrics-http.js';
