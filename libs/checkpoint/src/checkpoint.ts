import { base64Decode, base64Encode } from './encoding.js';
import { CheckpointError, type Signature } from './errors.js';
import type { Signer, Verifier } from './keys.js';
import { NOTE_BYTES_MAX, VerifierList, checkCharacters, openNote, signNote } from './note.js';

/** RFC 6962 SHA-256 roots only: any other length is refused, never truncated or padded. */
export const CHECKPOINT_ROOT_HASH_BYTES = 32;
/**
 * Largest tree size: 2^53-1, the largest integer a JS number holds exactly (the same bound as
 * @cairn/merkle). C2SP allows up to 2^64-1; a larger size is refused rather than rounded.
 */
export const CHECKPOINT_SIZE_MAX = Number.MAX_SAFE_INTEGER;
/** Most extension lines. C2SP does not recommend extensions at all; this bounds parsing work. */
export const CHECKPOINT_EXTENSION_LINES_MAX = 32;

/** The body of a C2SP tlog-checkpoint note. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions: readonly string[];
}

export interface CheckpointInput {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions?: readonly string[];
}

export interface OpenedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly verified: readonly Signature[];
  readonly unverified: readonly Signature[];
}

export interface OpenCheckpointOptions {
  /** When given, the checkpoint's origin line must equal it (pins the log identity). */
  readonly origin?: string;
}

const SIZE_DECIMAL = /^(0|[1-9][0-9]{0,15})$/;
const MANDATORY_LINES = 3;

export function formatCheckpoint(checkpoint: CheckpointInput): string {
  const extensions = checkpoint.extensions ?? [];
  checkLine(checkpoint.origin, 'origin');
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0) {
    throw malformed(`size must be an integer from 0 to ${CHECKPOINT_SIZE_MAX}`);
  }
  checkRootHash(checkpoint.rootHash);
  if (extensions.length > CHECKPOINT_EXTENSION_LINES_MAX) {
    throw malformed(`more than ${CHECKPOINT_EXTENSION_LINES_MAX} extension lines`);
  }
  for (const line of extensions) checkLine(line, 'extension line');
  const lines = [checkpoint.origin, String(checkpoint.size), base64Encode(checkpoint.rootHash), ...extensions];
  return lines.join('\n') + '\n';
}

/** Parses a checkpoint body strictly, including the 32-byte root hash. */
export function parseCheckpoint(text: string): Checkpoint {
  const checkpoint = parseCheckpointLines(text);
  checkRootHash(checkpoint.rootHash);
  return checkpoint;
}

/**
 * Every rule of parseCheckpoint except the root hash length: the line structure of C2SP
 * tlog-checkpoint, for tools that read logs with other hash functions.
 */
export function parseCheckpointLines(text: string): Checkpoint {
  if (text.length > NOTE_BYTES_MAX) throw malformed(`checkpoint exceeds ${NOTE_BYTES_MAX} characters`);
  checkCharacters(text, 'CHECKPOINT_MALFORMED');
  if (!text.endsWith('\n')) throw malformed('missing final newline');
  const lines = text.slice(0, -1).split('\n', MANDATORY_LINES + CHECKPOINT_EXTENSION_LINES_MAX + 1);
  if (lines.length < MANDATORY_LINES) throw malformed('need origin, size and root hash lines');
  if (lines.length > MANDATORY_LINES + CHECKPOINT_EXTENSION_LINES_MAX) {
    throw malformed(`more than ${CHECKPOINT_EXTENSION_LINES_MAX} extension lines`);
  }
  lines.forEach((line, i) => {
    if (line.length === 0) throw malformed(`line ${i + 1} is empty`);
  });
  const [origin = '', sizeLine = '', rootLine = '', ...extensions] = lines;
  return Object.freeze({ origin, size: parseSize(sizeLine), rootHash: parseRoot(rootLine), extensions });
}

export function signCheckpoint(checkpoint: CheckpointInput, signers: readonly Signer[]): string {
  return signNote(formatCheckpoint(checkpoint), signers);
}

/** Opens a signed note (see openNote) and parses its text as a checkpoint. */
export function openCheckpoint(
  note: string | Uint8Array,
  verifiers: VerifierList | readonly Verifier[],
  options: OpenCheckpointOptions = {},
): OpenedCheckpoint {
  const opened = openNote(note, verifiers);
  const checkpoint = parseCheckpoint(opened.text);
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw new CheckpointError(
      'CHECKPOINT_ORIGIN_MISMATCH',
      `origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(options.origin)}`,
    );
  }
  return { checkpoint, verified: opened.verified, unverified: opened.unverified };
}

function parseSize(line: string): number {
  if (!SIZE_DECIMAL.test(line)) throw malformed('size must be decimal digits without leading zeros');
  const size = Number(line);
  if (size > CHECKPOINT_SIZE_MAX) throw malformed(`size exceeds ${CHECKPOINT_SIZE_MAX}`);
  return size;
}

function parseRoot(line: string): Uint8Array {
  try {
    return base64Decode(line);
  } catch (cause) {
    throw new CheckpointError('CHECKPOINT_MALFORMED', 'root hash is not canonical base64', { cause });
  }
}

function checkRootHash(rootHash: Uint8Array): void {
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== CHECKPOINT_ROOT_HASH_BYTES) {
    throw new CheckpointError('CHECKPOINT_ROOT_SIZE', `root hash must be ${CHECKPOINT_ROOT_HASH_BYTES} bytes`);
  }
}

function checkLine(line: string, what: string): void {
  if (typeof line !== 'string' || line.length === 0) throw malformed(`${what} must be non-empty`);
  if (line.includes('\n')) throw malformed(`${what} must be one line`);
  checkCharacters(line, 'CHECKPOINT_MALFORMED');
}

function malformed(reason: string): CheckpointError {
  return new CheckpointError('CHECKPOINT_MALFORMED', reason);
}
