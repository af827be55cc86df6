import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64Decode, base64Encode, hexEncode, utf8Encode } from './encoding.js';
import { CheckpointError } from './errors.js';

/** Signature type byte for plain Ed25519 over the note text (C2SP signed-note). */
export const ALGORITHM_ED25519 = 0x01;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SEED_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
export const KEY_ID_BYTES = 4;
/** Longest key name accepted, in UTF-8 bytes: names are host/path identifiers, not documents. */
export const KEY_NAME_BYTES_MAX = 1024;

const SIGNER_KEY_PREFIX = 'PRIVATE+KEY+';

/** A public key that can check signatures: `<name>+<hex key ID>+base64(0x01 || public key)`. */
export interface Verifier {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
}

/** A private key: `PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || seed)`. Keep it secret. */
export interface Signer extends Verifier {
  readonly seed: Uint8Array;
}

export interface KeyPair {
  readonly signerKey: string;
  readonly verifierKey: string;
}

/**
 * Key names: non-empty, no Unicode white space, no '+', no control characters, well-formed UTF-16
 * (so they have a UTF-8 encoding). '+' separates key fields and ' ' separates signature-line fields.
 */
const NAME_FORBIDDEN = /[\p{White_Space}+\u0000-\u001f]/u;

export function isValidKeyName(name: string): boolean {
  if (name.length === 0 || NAME_FORBIDDEN.test(name)) return false;
  try {
    return utf8Encode(name).length <= KEY_NAME_BYTES_MAX;
  } catch {
    return false;
  }
}

/** key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4], read big-endian as a uint32. */
export function ed25519KeyId(name: string, publicKey: Uint8Array): number {
  const nameBytes = utf8Encode(name);
  const input = new Uint8Array(nameBytes.length + 2 + publicKey.length);
  input.set(nameBytes, 0);
  input[nameBytes.length] = 0x0a;
  input[nameBytes.length + 1] = ALGORITHM_ED25519;
  input.set(publicKey, nameBytes.length + 2);
  return readUint32(sha256(input), 0);
}

export function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

export function generateKeyPair(name: string, seed?: Uint8Array): KeyPair {
  if (!isValidKeyName(name)) throw new CheckpointError('KEY_MALFORMED', `invalid key name ${JSON.stringify(name)}`);
  const secret = seed === undefined ? randomSeed() : Uint8Array.from(seed);
  if (secret.length !== ED25519_SEED_BYTES) {
    throw new CheckpointError('KEY_MALFORMED', `seed must be ${ED25519_SEED_BYTES} bytes, got ${secret.length}`);
  }
  const publicKey = ed25519.getPublicKey(secret);
  const id = keyIdHex(ed25519KeyId(name, publicKey));
  return {
    signerKey: `${SIGNER_KEY_PREFIX}${name}+${id}+${base64Encode(withAlgorithm(secret))}`,
    verifierKey: `${name}+${id}+${base64Encode(withAlgorithm(publicKey))}`,
  };
}

export function parseVerifierKey(text: string): Verifier {
  const fields = splitKey(text);
  const publicKey = keyMaterial(fields.material, ED25519_PUBLIC_KEY_BYTES);
  checkKeyId(fields.name, fields.keyId, publicKey);
  return Object.freeze({ name: fields.name, keyId: fields.keyId, publicKey });
}

export function parseSignerKey(text: string): Signer {
  if (!text.startsWith(SIGNER_KEY_PREFIX)) {
    throw new CheckpointError('KEY_MALFORMED', `signer key must start with ${SIGNER_KEY_PREFIX}`);
  }
  const fields = splitKey(text.slice(SIGNER_KEY_PREFIX.length));
  const seed = keyMaterial(fields.material, ED25519_SEED_BYTES);
  const publicKey = ed25519.getPublicKey(seed);
  checkKeyId(fields.name, fields.keyId, publicKey);
  return Object.freeze({ name: fields.name, keyId: fields.keyId, publicKey, seed });
}

/** The verifier key string that publishes a signer's public half. */
export function formatVerifierKey(verifier: Verifier): string {
  assertVerifier(verifier);
  return `${verifier.name}+${keyIdHex(verifier.keyId)}+${base64Encode(withAlgorithm(verifier.publicKey))}`;
}

/**
 * Checks a Verifier (or Signer) object that may not have come from the parsers: a hand-built or
 * mutated object must not slip a wrong key ID past the note code.
 */
export function assertVerifier(verifier: Verifier): void {
  if (!isValidKeyName(verifier.name)) throw new CheckpointError('KEY_MALFORMED', 'invalid key name');
  if (!(verifier.publicKey instanceof Uint8Array) || verifier.publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new CheckpointError('KEY_MALFORMED', `public key must be ${ED25519_PUBLIC_KEY_BYTES} bytes`);
  }
  if (!Number.isInteger(verifier.keyId) || ed25519KeyId(verifier.name, verifier.publicKey) !== verifier.keyId) {
    throw new CheckpointError('KEY_ID_MISMATCH', `key ID does not match key ${verifier.name}`);
  }
}

export function assertSigner(signer: Signer): void {
  assertVerifier(signer);
  if (!(signer.seed instanceof Uint8Array) || signer.seed.length !== ED25519_SEED_BYTES) {
    throw new CheckpointError('KEY_MALFORMED', `seed must be ${ED25519_SEED_BYTES} bytes`);
  }
  const derived = ed25519.getPublicKey(signer.seed);
  if (!bytesEqual(derived, signer.publicKey)) {
    throw new CheckpointError('KEY_MALFORMED', `public key of ${signer.name} does not belong to its seed`);
  }
}

export function readUint32(bytes: Uint8Array, offset: number): number {
  let n = 0;
  for (let i = offset; i < offset + KEY_ID_BYTES; i += 1) {
    const b = bytes[i];
    if (b === undefined) throw new RangeError(`uint32 at ${offset} out of range`);
    n = n * 256 + b;
  }
  return n;
}

export function writeUint32(n: number, out: Uint8Array, offset: number): void {
  let rest = n;
  for (let i = offset + KEY_ID_BYTES - 1; i >= offset; i -= 1) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

interface KeyFields {
  readonly name: string;
  readonly keyId: number;
  readonly material: string;
}

const KEY_ID_HEX = /^[0-9a-f]{8}$/;

/** `<name>+<8 lowercase hex>+<base64>`; the base64 may itself contain '+', so split on the first two. */
function splitKey(text: string): KeyFields {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw new CheckpointError('KEY_MALFORMED', 'key must be <name>+<key ID>+<key>');
  const name = text.slice(0, first);
  const hex = text.slice(first + 1, second);
  if (!isValidKeyName(name)) throw new CheckpointError('KEY_MALFORMED', `invalid key name ${JSON.stringify(name)}`);
  if (!KEY_ID_HEX.test(hex)) throw new CheckpointError('KEY_MALFORMED', 'key ID must be 8 lowercase hex digits');
  return { name, keyId: Number.parseInt(hex, 16), material: text.slice(second + 1) };
}

/** Decodes base64(algorithm byte || key) and checks the algorithm and the exact length. */
function keyMaterial(material: string, keyBytes: number): Uint8Array {
  let decoded: Uint8Array;
  try {
    decoded = base64Decode(material);
  } catch (cause) {
    throw new CheckpointError('KEY_MALFORMED', 'key material is not canonical base64', { cause });
  }
  if (decoded.length === 0) throw new CheckpointError('KEY_MALFORMED', 'empty key material');
  if (decoded[0] !== ALGORITHM_ED25519) {
    throw new CheckpointError('KEY_ALGORITHM_UNSUPPORTED', `signature type 0x${hexEncode(decoded.subarray(0, 1))}`);
  }
  if (decoded.length !== 1 + keyBytes) {
    throw new CheckpointError('KEY_MALFORMED', `Ed25519 key must be ${keyBytes} bytes, got ${decoded.length - 1}`);
  }
  return decoded.slice(1);
}

function checkKeyId(name: string, keyId: number, publicKey: Uint8Array): void {
  const want = ed25519KeyId(name, publicKey);
  if (want !== keyId) {
    throw new CheckpointError('KEY_ID_MISMATCH', `key ID ${keyIdHex(keyId)} does not match key (${keyIdHex(want)})`);
  }
}

function withAlgorithm(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + key.length);
  out[0] = ALGORITHM_ED25519;
  out.set(key, 1);
  return out;
}

function randomSeed(): Uint8Array {
  const source = globalThis.crypto;
  if (source === undefined || typeof source.getRandomValues !== 'function') {
    throw new CheckpointError('RANDOM_UNAVAILABLE', 'crypto.getRandomValues is not available; pass a seed');
  }
  return source.getRandomValues(new Uint8Array(ED25519_SEED_BYTES));
}
