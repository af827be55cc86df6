export {
  loadConfig,
  checkConfig,
  configDefaults,
  envName,
  flagName,
  usage,
  numberSettings,
  stringSettings,
  authMode,
  type IngestConfig,
} from './config.js';
export { ApiKeys, ApiKeyError, newApiKey, forbiddenRecord, ALL_TAGS, api_keys_max, api_key_tags_max, token_chars_min, token_chars_max, type ApiKey } from './auth.js';
export { Gateway, hex, listeners_per_tx_max, noGatewayMeter, type WaitFor, type Outcome, type GatewayStats, type GatewayMeter } from './gateway.js';
export { IngestMetrics } from './metrics.js';
export { natsClaims, claimFlush, claimKeyHex, needsClaim, claims_batch_max, type ClaimPort, type ClaimRequest, type ClaimVerdict } from './claims.js';
export { createIngestServer, type HttpDeps } from './http.js';
export type { LedgerMessage, LedgerPort, PublishResult } from './ledger.js';
export { natsLedger, newSession, mapError } from './nats-ledger.js';
export { openApiDocument } from './openapi.js';
export { startIngest, nodeSha256, cachedShardOf, shard_cache_tags_max, type IngestService } from './service.js';
