import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// The optional batch SHA-256 addon (native/hash.c, built by scripts/build-native.mjs). node:crypto
// pays about 1 us of call overhead per hash on this engine's short inputs, which was most of an
// append's hashing; the addon hashes a whole batch per call with the node binary's own OpenSSL.
// Without it (not built, or CAIRN_NATIVE_HASH=0) every caller falls back to node:crypto, which
// gives the same bytes (tested), only slower.

export interface NativeHash {
  /** See hashRecords in hash-task.ts; `bytes` views the whole batch buffer from offset 0. */
  hashRecords(bytes: Uint8Array, recordTable: number, txTable: number, leafHashes: number, begin: number, end: number): number;
  /**
   * For i < pairs: SHA-256(0x01 || bytes[inAt + 64 i, +64)) into bytes[outAt + 32 i, +32).
   * outAt <= inAt + 32, so a tree level can be reduced in place.
   */
  hashPairs(bytes: Uint8Array, inAt: number, pairs: number, outAt: number): number;
}

/** Where scripts/build-native.mjs puts the addon, relative to this file in dist/src. */
export const NATIVE_HASH_PATH = fileURLToPath(new URL('../../native/build/cairn_hash.node', import.meta.url));

function load(): { addon: NativeHash | undefined; why: string } {
  if (process.env['CAIRN_NATIVE_HASH'] === '0') return { addon: undefined, why: 'disabled by CAIRN_NATIVE_HASH=0' };
  if (!existsSync(NATIVE_HASH_PATH)) return { addon: undefined, why: `not built (${NATIVE_HASH_PATH})` };
  try {
    const addon = createRequire(import.meta.url)(NATIVE_HASH_PATH) as Partial<NativeHash>;
    if (typeof addon.hashRecords === 'function' && typeof addon.hashPairs === 'function') return { addon: addon as NativeHash, why: 'loaded' };
    return { addon: undefined, why: `${NATIVE_HASH_PATH} does not export hashRecords and hashPairs` };
  } catch (error) {
    // A build for another node or libc: hashing still works, slower; the reason is reported.
    return { addon: undefined, why: `failed to load: ${(error as Error).message}` };
  }
}

const loaded = load();

/** The addon, or undefined when node:crypto does the hashing (loaded once per thread). */
export const nativeHash: NativeHash | undefined = loaded.addon;
/** Why the addon is or is not in use, for benchmarks, logs and tests. */
export const nativeHashStatus: string = loaded.why;
