// The first link of every chain: a C2SP checkpoint signed by the pinned key, naming our cluster.
import { CheckpointError, VerifierList, openCheckpoint, parseVerifierKey, type Verifier } from '@cairn/checkpoint';
import { nobleHasher, type Hasher } from '@cairn/merkle';
import { VerifyError } from './errors.js';

/** What a client trusts: a checkpoint it verified (or a state it was built with). */
export interface TrustedCheckpoint {
  readonly origin: string;
  /** State-log size: the number of epochs the checkpoint covers. */
  readonly size: number;
  readonly root: Uint8Array;
  /** The signed note, kept so that a stored state can be re-verified when it is loaded. */
  readonly note: string;
}

/** Everything a verification needs besides the answer: the pinned key, the cluster, the hasher. */
export interface VerifyContext {
  readonly verifiers: VerifierList;
  readonly origin: string;
  readonly hasher: Hasher;
  /**
   * Notes already verified, by their exact text (signatures included). Most answers carry the same
   * checkpoint as the one before, and the Ed25519 verify is most of a chain's cost; an exact-text
   * match cannot be a different note, so skipping the repeat is safe. Undefined = no cache.
   */
  readonly notes: Map<string, TrustedCheckpoint> | undefined;
}

/** Verified notes remembered per context; the oldest is dropped first. */
export const NOTE_CACHE_ENTRIES_MAX = 16;

export interface VerifyContextInput {
  /** Verifier key(s) in C2SP form `<name>+<hex id>+<base64>`; pinned, never learned from a server. */
  readonly verifierKey: string | readonly string[];
  /** The cluster name: the checkpoint origin and the origin inside every global state. */
  readonly origin: string;
  readonly hasher?: Hasher;
  /** Remember verified notes (default true); false makes every answer pay the signature check. */
  readonly cacheNotes?: boolean;
}

export function createVerifyContext(input: VerifyContextInput): VerifyContext {
  const keys = typeof input.verifierKey === 'string' ? [input.verifierKey] : input.verifierKey;
  if (keys.length === 0) throw new TypeError('at least one verifier key must be pinned');
  if (typeof input.origin !== 'string' || input.origin.length === 0) throw new TypeError('origin must be a non-empty string');
  const verifiers: Verifier[] = keys.map((key) => parseVerifierKey(key));
  const notes = input.cacheNotes === false ? undefined : new Map<string, TrustedCheckpoint>();
  return { verifiers: new VerifierList(verifiers), origin: input.origin, hasher: input.hasher ?? nobleHasher, notes };
}

/** Verifies a signed checkpoint note against the pinned key(s) and the expected origin. */
export function verifyCheckpointNote(note: unknown, ctx: VerifyContext): TrustedCheckpoint {
  if (typeof note !== 'string') throw new VerifyError('malformed_response', 'checkpoint must be a signed note (string)');
  const known = ctx.notes?.get(note);
  if (known !== undefined) return known;
  let opened;
  try {
    opened = openCheckpoint(note, ctx.verifiers);
  } catch (cause) {
    throw checkpointFailure(cause);
  }
  const { origin, size, rootHash } = opened.checkpoint;
  if (origin !== ctx.origin) {
    throw new VerifyError('state_mismatch', `checkpoint origin ${JSON.stringify(origin)} is not ${JSON.stringify(ctx.origin)}`);
  }
  const trusted = { origin, size, root: rootHash, note };
  remember(ctx, trusted);
  return trusted;
}

function remember(ctx: VerifyContext, trusted: TrustedCheckpoint): void {
  if (ctx.notes === undefined) return;
  if (ctx.notes.size >= NOTE_CACHE_ENTRIES_MAX) {
    const oldest = ctx.notes.keys().next();
    if (oldest.done !== true) ctx.notes.delete(oldest.value);
  }
  ctx.notes.set(trusted.note, trusted);
}

function checkpointFailure(cause: unknown): VerifyError {
  if (!(cause instanceof CheckpointError)) return new VerifyError('malformed_response', 'checkpoint could not be opened', { cause });
  switch (cause.code) {
    case 'NOTE_BAD_SIGNATURE':
      return new VerifyError('bad_signature', 'checkpoint signature by the pinned key does not verify', { cause });
    case 'NOTE_NO_VERIFIED_SIGNATURE':
      return new VerifyError('unknown_key', 'checkpoint is not signed by the pinned key', { cause });
    default:
      return new VerifyError('malformed_response', `checkpoint is malformed (${cause.code})`, { cause });
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff += a[i] === b[i] ? 0 : 1;
  return diff === 0;
}
