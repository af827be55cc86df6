// Big-endian integer helpers. Leaf indexes and sizes are safe integers up to 2^53-1, so 64-bit
// fields are split with arithmetic (32-bit bitwise operators would truncate them); each 32-bit
// half is then written byte by byte, which is cheaper than a DataView per call on the hot path.

const TWO_POW_32 = 0x1_0000_0000;

export function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

export function readU32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at] as number) * 0x100_0000 +
    (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number))
  );
}

export function writeU64(out: Uint8Array, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  writeU32(out, at, high);
  writeU32(out, at + 4, value - high * TWO_POW_32);
}

export function readU64(bytes: Uint8Array, at: number): number {
  if (at + 8 > bytes.length) throw new RangeError('u64 past the end');
  const high = readU32(bytes, at);
  if (high >= 0x20_0000) throw new RangeError('u64 above 2^53-1');
  return high * TWO_POW_32 + readU32(bytes, at + 4);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

export const utf8 = new TextEncoder();
