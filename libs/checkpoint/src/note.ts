import { ed25519 } from '@noble/curves/ed25519.js';
import { assertWellFormed, base64Decode, base64Encode, utf8Decode, utf8Encode } from './encoding.js';
import { CheckpointError, NoteUnverifiedError, type Signature } from './errors.js';
import {
  ED25519_SIGNATURE_BYTES,
  KEY_ID_BYTES,
  assertSigner,
  assertVerifier,
  isValidKeyName,
  keyIdHex,
  readUint32,
  writeUint32,
  type Signer,
  type Verifier,
} from './keys.js';

/**
 * Most signature lines a note may carry. C2SP requires accepting at least 16; 100 is Go's
 * sumdb/note limit, so a note either implementation accepts, the other accepts too.
 */
export const NOTE_SIGNATURES_MAX = 100;
/** Largest note, in UTF-8 bytes. Checkpoints are a few hundred bytes; this bounds parsing work. */
export const NOTE_BYTES_MAX = 1_048_576;
/** Most keys in one verifier list (a log key plus its witnesses fits easily). */
export const VERIFIERS_MAX = 256;

const SIGNATURE_PREFIX = '\u2014 '; // em dash, space
const LINE_FEED = 0x0a;

export interface ParsedNote {
  readonly text: string;
  readonly signatures: readonly Signature[];
}

export interface OpenedNote {
  readonly text: string;
  /** One entry per known key whose signature verified (repeated identical lines are listed once). */
  readonly verified: readonly Signature[];
  /** Signatures by keys not in the verifier list; ignored, as C2SP requires. */
  readonly unverified: readonly Signature[];
}

/** Known keys by (name, key ID). Two keys with the same name and ID make the list ambiguous. */
export class VerifierList {
  readonly #byId = new Map<string, Verifier>();

  constructor(verifiers: readonly Verifier[]) {
    if (verifiers.length > VERIFIERS_MAX) {
      throw new CheckpointError('VERIFIERS_INVALID', `more than ${VERIFIERS_MAX} verifiers`);
    }
    for (const verifier of verifiers) {
      assertVerifier(verifier);
      const id = identity(verifier.name, verifier.keyId);
      if (this.#byId.has(id)) throw new CheckpointError('VERIFIER_AMBIGUOUS', `ambiguous key ${id}`);
      this.#byId.set(id, verifier);
    }
  }

  get size(): number {
    return this.#byId.size;
  }

  find(name: string, keyId: number): Verifier | undefined {
    return this.#byId.get(identity(name, keyId));
  }
}

/** Signs `text` (non-empty, ending in a newline) with every signer, in order. */
export function signNote(text: string, signers: readonly Signer[]): string {
  checkSigners(signers);
  const message = checkText(text);
  let note = text + '\n';
  for (const signer of signers) {
    const data = new Uint8Array(KEY_ID_BYTES + ED25519_SIGNATURE_BYTES);
    writeUint32(signer.keyId, data, 0);
    data.set(ed25519.sign(message, signer.seed), KEY_ID_BYTES);
    note += `${SIGNATURE_PREFIX}${signer.name} ${base64Encode(data)}\n`;
  }
  if (utf8Encode(note).length > NOTE_BYTES_MAX) {
    throw new CheckpointError('NOTE_LIMIT_EXCEEDED', `signed note exceeds ${NOTE_BYTES_MAX} bytes`);
  }
  return note;
}

/**
 * Verifies a note. Every signature by a known key must verify (a failure rejects the whole note, as
 * C2SP advises: a bad signature from a trusted key means something is wrong); signatures by unknown
 * keys are ignored; at least one known key must have signed.
 */
export function openNote(note: string | Uint8Array, verifiers: VerifierList | readonly Verifier[]): OpenedNote {
  const known = verifiers instanceof VerifierList ? verifiers : new VerifierList(verifiers);
  const parsed = parseNoteLines(note);
  const message = utf8Encode(parsed.text);
  const verified: Signature[] = [];
  const unverified: Signature[] = [];
  const seen = new Set<string>();
  for (const { signature, bytes } of parsed.lines) {
    const line = `${signature.name} ${signature.base64}`;
    const verifier = known.find(signature.name, signature.keyId);
    if (verifier === undefined) {
      if (!seen.has(line)) unverified.push(signature);
    } else {
      checkSignature(verifier, message, bytes);
      if (!seen.has(line)) verified.push(signature);
    }
    seen.add(line);
  }
  if (verified.length === 0) {
    throw new NoteUnverifiedError('note has no signature from a known key that verifies', unverified);
  }
  return { text: parsed.text, verified, unverified };
}

/** Splits a note into its text and signature lines and checks their syntax. Verifies nothing. */
export function parseNote(note: string | Uint8Array): ParsedNote {
  const parsed = parseNoteLines(note);
  return { text: parsed.text, signatures: parsed.lines.map((line) => line.signature) };
}

interface SignatureLine {
  readonly signature: Signature;
  readonly bytes: Uint8Array;
}

function parseNoteLines(note: string | Uint8Array): { text: string; lines: SignatureLine[] } {
  const source = noteString(note);
  checkCharacters(source, 'NOTE_MALFORMED');
  // The text may hold blank lines; the last blank line is the separator (C2SP).
  const split = source.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the signatures');
  const block = source.slice(split + 2);
  if (block.length === 0 || block.charCodeAt(block.length - 1) !== LINE_FEED) {
    throw malformed('signature block must be non-empty and end in a newline');
  }
  const rawLines = block.slice(0, -1).split('\n', NOTE_SIGNATURES_MAX + 1);
  if (rawLines.length > NOTE_SIGNATURES_MAX) {
    throw new CheckpointError('NOTE_LIMIT_EXCEEDED', `more than ${NOTE_SIGNATURES_MAX} signatures`);
  }
  return { text: source.slice(0, split + 1), lines: rawLines.map(parseSignatureLine) };
}

function parseSignatureLine(line: string): SignatureLine {
  if (!line.startsWith(SIGNATURE_PREFIX)) throw malformed('signature line must start with an em dash and a space');
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw malformed('signature line must be "— <name> <base64>"');
  const name = rest.slice(0, space);
  const base64 = rest.slice(space + 1);
  if (!isValidKeyName(name)) throw malformed(`invalid key name ${JSON.stringify(name)}`);
  let bytes: Uint8Array;
  try {
    bytes = base64Decode(base64);
  } catch (cause) {
    throw new CheckpointError('NOTE_MALFORMED', `signature by ${name} is not canonical base64`, { cause });
  }
  if (bytes.length <= KEY_ID_BYTES) throw malformed(`signature by ${name} is too short`);
  return { signature: Object.freeze({ name, keyId: readUint32(bytes, 0), base64 }), bytes };
}

function noteString(note: string | Uint8Array): string {
  // A string's UTF-16 length never exceeds its UTF-8 length, so this first cut is safe for both forms.
  if (note.length > NOTE_BYTES_MAX) throw tooLarge();
  let bytes: Uint8Array;
  let text: string;
  try {
    bytes = typeof note === 'string' ? utf8Encode(note) : note;
    text = typeof note === 'string' ? note : utf8Decode(note);
  } catch (cause) {
    throw new CheckpointError('NOTE_MALFORMED', 'note is not valid UTF-8', { cause });
  }
  if (bytes.length > NOTE_BYTES_MAX) throw tooLarge();
  return text;
}

function tooLarge(): CheckpointError {
  return new CheckpointError('NOTE_LIMIT_EXCEEDED', `note exceeds ${NOTE_BYTES_MAX} bytes`);
}

/** Signed notes are valid UTF-8 without ASCII control characters other than newline (C2SP). */
export function checkCharacters(
  text: string,
  code: 'NOTE_MALFORMED' | 'NOTE_TEXT_INVALID' | 'CHECKPOINT_MALFORMED',
): void {
  try {
    assertWellFormed(text);
  } catch (cause) {
    throw new CheckpointError(code, 'text is not well-formed Unicode', { cause });
  }
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== LINE_FEED) throw new CheckpointError(code, `control character 0x${c.toString(16)} at ${i}`);
  }
}

function checkText(text: string): Uint8Array {
  if (text.length === 0 || text.charCodeAt(text.length - 1) !== LINE_FEED) {
    throw new CheckpointError('NOTE_TEXT_INVALID', 'note text must be non-empty and end in a newline');
  }
  checkCharacters(text, 'NOTE_TEXT_INVALID');
  const message = utf8Encode(text);
  if (message.length > NOTE_BYTES_MAX) {
    throw new CheckpointError('NOTE_LIMIT_EXCEEDED', `note text exceeds ${NOTE_BYTES_MAX} bytes`);
  }
  return message;
}

function checkSigners(signers: readonly Signer[]): void {
  if (signers.length === 0 || signers.length > NOTE_SIGNATURES_MAX) {
    throw new CheckpointError('SIGNERS_INVALID', `need 1 to ${NOTE_SIGNATURES_MAX} signers, got ${signers.length}`);
  }
  const ids = new Set<string>();
  for (const signer of signers) {
    assertSigner(signer);
    const id = identity(signer.name, signer.keyId);
    if (ids.has(id)) throw new CheckpointError('SIGNERS_INVALID', `signer ${id} appears twice`);
    ids.add(id);
  }
}

function checkSignature(verifier: Verifier, message: Uint8Array, bytes: Uint8Array): void {
  const signature = bytes.subarray(KEY_ID_BYTES);
  if (signature.length !== ED25519_SIGNATURE_BYTES || !ed25519Verify(signature, message, verifier.publicKey)) {
    throw new CheckpointError('NOTE_BAD_SIGNATURE', `invalid signature for key ${identity(verifier.name, verifier.keyId)}`);
  }
}

/** RFC 8032 verification (zip215: false rejects non-canonical encodings, so signatures are not malleable). */
function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

function identity(name: string, keyId: number): string {
  return `${name}+${keyIdHex(keyId)}`;
}

function malformed(reason: string): CheckpointError {
  return new CheckpointError('NOTE_MALFORMED', reason);
}
