import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

export function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Every *.json under dir, sorted, as paths. */
export function jsonFilesUnder(dir: string): string[] {
  const found: string[] = [];
  const pending = [dir];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    for (const name of readdirSync(next)) {
      const path = join(next, name);
      if (statSync(path).isDirectory()) pending.push(path);
      else if (name.endsWith('.json')) found.push(path);
    }
  }
  return found.sort();
}

/** Deterministic distinct leaf hashes for tests (leaf i hashes the 8-byte big-endian i). */
export function leafData(i: number): Uint8Array {
  const data = new Uint8Array(8);
  new DataView(data.buffer).setBigUint64(0, BigInt(i));
  return data;
}
