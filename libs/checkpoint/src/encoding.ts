import { CheckpointError } from './errors.js';

// Strict RFC 4648 section 4 base64 and fatal UTF-8. Strictness is a security property here: every byte
// string must have exactly one accepted text form, or a mutated note could still verify (a lenient
// decoder ignores the unused low bits of the last character, so two spellings decode to one signature).

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = '=';

/** Character code -> 6-bit value, or -1 for characters outside the alphabet. */
const DECODE_TABLE: readonly number[] = (() => {
  const table = new Array<number>(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i += 1) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

export function base64Encode(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = byteAt(bytes, i) * 65536 + byteAt(bytes, i + 1) * 256 + byteAt(bytes, i + 2);
    out += sextet(n, 18) + sextet(n, 12) + sextet(n, 6) + sextet(n, 0);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = byteAt(bytes, i) * 65536;
    out += sextet(n, 18) + sextet(n, 12) + PAD + PAD;
  } else if (rest === 2) {
    const n = byteAt(bytes, i) * 65536 + byteAt(bytes, i + 1) * 256;
    out += sextet(n, 18) + sextet(n, 12) + sextet(n, 6) + PAD;
  }
  return out;
}

/**
 * Decodes canonical padded base64 only: length a multiple of 4, alphabet characters, '=' only as the
 * last one or two characters, and zero unused bits in the last group. No whitespace, no URL alphabet.
 */
export function base64Decode(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw malformed('length is not a multiple of 4');
  const padding = text.endsWith(PAD + PAD) ? 2 : text.endsWith(PAD) ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const c0 = sextetValue(text, i);
    const c1 = sextetValue(text, i + 1);
    if (last && padding === 2) {
      if (c1 % 16 !== 0) throw malformed('non-zero unused bits');
      out[o] = c0 * 4 + Math.floor(c1 / 16);
      return out;
    }
    const c2 = sextetValue(text, i + 2);
    if (last && padding === 1) {
      if (c2 % 4 !== 0) throw malformed('non-zero unused bits');
      out[o] = c0 * 4 + Math.floor(c1 / 16);
      out[o + 1] = (c1 % 16) * 16 + Math.floor(c2 / 4);
      return out;
    }
    const c3 = sextetValue(text, i + 3);
    out[o] = c0 * 4 + Math.floor(c1 / 16);
    out[o + 1] = (c1 % 16) * 16 + Math.floor(c2 / 4);
    out[o + 2] = (c2 % 4) * 64 + c3;
    o += 3;
  }
  return out;
}

const utf8Encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF in the text: signatures cover bytes, so nothing may be dropped.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 of a well-formed string; a lone surrogate would be silently replaced by TextEncoder, so it is refused. */
export function utf8Encode(text: string): Uint8Array {
  assertWellFormed(text);
  return utf8Encoder.encode(text);
}

export function utf8Decode(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch (cause) {
    throw new CheckpointError('UTF8_MALFORMED', 'bytes are not valid UTF-8', { cause });
  }
}

/** Throws UTF8_MALFORMED if the string holds an unpaired surrogate (it has no UTF-8 encoding). */
export function assertWellFormed(text: string): void {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i += 1;
      continue;
    }
    throw new CheckpointError('UTF8_MALFORMED', `unpaired surrogate at index ${i}`);
  }
}

export function hexEncode(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

function byteAt(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b === undefined) throw new RangeError(`index ${i} out of range`);
  return b;
}

function sextet(n: number, shift: number): string {
  return ALPHABET.charAt(Math.floor(n / 2 ** shift) % 64);
}

function sextetValue(text: string, i: number): number {
  const code = text.charCodeAt(i);
  const value = code < 128 ? DECODE_TABLE[code] : undefined;
  if (value === undefined || value < 0) throw malformed(`invalid character at index ${i}`);
  return value;
}

function malformed(reason: string): CheckpointError {
  return new CheckpointError('BASE64_MALFORMED', reason);
}
