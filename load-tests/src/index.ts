export { LOAD_ERROR_CODES, LoadError, isLoadError, type LoadErrorCode } from './errors.js';
export {
  SCENARIOS,
  LOAD_DEFAULTS,
  LOAD_LIMITS,
  UNITS_PER_ORDER_MAX,
  FLAGS,
  assertLoopback,
  checkOptions,
  parseOptions,
  startVerifierKeyFile,
  usage,
  type LoadOptions,
  type ScenarioName,
} from './config.js';
export { Rng } from './rng.js';
export { JsonPoster, ANSWER_BYTES_MAX, RETRY_AFTER_MS_MAX, type PostAnswer } from './http.js';
export { LoadStats, LATENCY_SAMPLES_MAX, percentile, type StatsSummary } from './stats.js';
export { Budget, closedLoop, send, undecided, RESEND_PAUSE_MS, type Outcome, type Sender } from './drive.js';
export { KeyBook, REFRESH_POLLS_MAX, REFRESH_POLL_MS, type Known } from './book.js';
export { RunLog, type Ack, type Effect, type Refusal, type SentTx, type Uncertain } from './log.js';
export { RecordingStore, SAVED_SIZES_MAX, noteSize } from './store.js';
export { forEachLimited } from './pool.js';
export { checkRun, INVARIANTS, VIOLATIONS_KEPT_MAX, REFUSALS_CHECKED_MAX, READ_RETRIES_MAX, READ_RETRY_PAUSE_MS, READ_RETRY_PAUSE_MS_MAX, type CheckOptions, type CheckReport, type Invariant, type Violation } from './check.js';
export { checkoutScenario, shopTag, skuKey } from './checkout.js';
export { nftScenario, tokenKey, tokenTag, MINTER } from './nft.js';
export { senderOf, type Scenario, type ScenarioContext } from './scenario.js';
export { runScenario, scenarioOf, verifyingClient, type RunHooks, type ScenarioResult } from './run.js';
export { measureBaseline, BASELINE_MS_MAX, type BaselineOptions } from './baseline.js';
export { formatResult, perShard, VIOLATIONS_PRINTED_MAX } from './report.js';
export { crashOnce, CHAOS_DELAY_MS_MAX, type ChaosLog, type ChaosOptions, type Killable } from './chaos.js';
export { spreadTag, TAG_TRIES_MAX } from './tags.js';
