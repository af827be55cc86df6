// Strict readers for the proof service's JSON answers. Anything not of the documented shape is
// `malformed_response`: a verifier never guesses what a field meant.
import { base64Decode } from '@cairn/checkpoint';
import { VerifyError } from './errors.js';

/** Longest proof accepted, in hashes: a tree of 2^53 leaves needs at most 53 (+1 for consistency). */
export const PROOF_HASHES_MAX = 64;

export type JsonRecord = Readonly<Record<string, unknown>>;

export function malformed(what: string, cause?: unknown): VerifyError {
  return new VerifyError('malformed_response', what, cause === undefined ? undefined : { cause });
}

export function asObject(value: unknown, what: string): JsonRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(`${what} must be an object`);
  return value as JsonRecord;
}

export function asArray(value: unknown, what: string, max: number): readonly unknown[] {
  if (!Array.isArray(value)) throw malformed(`${what} must be an array`);
  if (value.length > max) throw malformed(`${what} has ${value.length} items, at most ${max}`);
  return value;
}

export function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw malformed(`${what} must be a string`);
  return value;
}

export function asCount(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw malformed(`${what} must be a non-negative safe integer`);
  }
  return value;
}

export function asBoolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw malformed(`${what} must be a boolean`);
  return value;
}

export function asBytes(value: unknown, what: string): Uint8Array {
  const text = asString(value, what);
  try {
    return base64Decode(text);
  } catch (cause) {
    throw malformed(`${what} is not canonical base64`, cause);
  }
}

export function asHashList(value: unknown, what: string): Uint8Array[] {
  return asArray(value, what, PROOF_HASHES_MAX).map((item, i) => asBytes(item, `${what}[${i}]`));
}
