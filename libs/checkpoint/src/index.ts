export {
  CHECKPOINT_ERROR_CODES,
  CheckpointError,
  NoteUnverifiedError,
  type CheckpointErrorCode,
  type Signature,
} from './errors.js';
export { base64Decode, base64Encode, utf8Decode, utf8Encode } from './encoding.js';
export {
  ALGORITHM_ED25519,
  KEY_NAME_BYTES_MAX,
  ed25519KeyId,
  formatVerifierKey,
  generateKeyPair,
  isValidKeyName,
  keyIdHex,
  parseSignerKey,
  parseVerifierKey,
  type KeyPair,
  type Signer,
  type Verifier,
} from './keys.js';
export {
  NOTE_BYTES_MAX,
  NOTE_SIGNATURES_MAX,
  VERIFIERS_MAX,
  VerifierList,
  openNote,
  parseNote,
  signNote,
  type OpenedNote,
  type ParsedNote,
} from './note.js';
export {
  CHECKPOINT_EXTENSION_LINES_MAX,
  CHECKPOINT_ROOT_HASH_BYTES,
  CHECKPOINT_SIZE_MAX,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  parseCheckpointLines,
  signCheckpoint,
  type Checkpoint,
  type CheckpointInput,
  type OpenCheckpointOptions,
  type OpenedCheckpoint,
} from './checkpoint.js';
