export { VERIFY_ERROR_CODES, VerifyError, isVerifyError, type VerifyErrorCode } from './verify/errors.js';
export { CLIENT_REQUEST_CODES, RequestError, isRequestError } from './errors.js';
export {
  NOTE_CACHE_ENTRIES_MAX,
  createVerifyContext,
  verifyCheckpointNote,
  type TrustedCheckpoint,
  type VerifyContext,
  type VerifyContextInput,
} from './verify/checkpoint.js';
export { PROOF_HASHES_MAX } from './verify/json.js';
export { verifyStateProof, verifyRecordProof, type ProvenState, type ProvenRecord } from './verify/chain.js';
export {
  ANSWER_RECORDS_MAX,
  verifyEnvelope,
  verifyKeyAnswer,
  verifyHistoryAnswer,
  verifyTransactionAnswer,
  type VerifiedAnswer,
  type VerifiedRecordAnswer,
  type VerifiedRecordsAnswer,
} from './verify/answers.js';
export {
  compareCheckpoints,
  verifyConsistencyAnswer,
  verifyShardConsistency,
  type Advance,
  type VerifiedConsistency,
} from './verify/consistency.js';
export { HTTP_LIMITS_DEFAULT, type FetchLike, type HttpLimits } from './http.js';
export { MemoryStateStore, LocalStorageStateStore, LOCAL_STORAGE_KEY_PREFIX, type StateStore, type StorageLike } from './store.js';
export {
  CairnClient,
  CLIENT_LIMITS_DEFAULT,
  type ClientLimits,
  type ClientOptions,
  type VerifiedRecord,
  type ReadResult,
  type RecordsResult,
  type WriteResult,
  type ReceiptProof,
  type BatchWriteItem,
} from './client.js';
export { type HeadCheck, type ReceiptHeadCheck } from './receipt.js';
