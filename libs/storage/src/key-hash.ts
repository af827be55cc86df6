// 32-bit FNV-1a over a key's UTF-16 code units: the hash the key cache and a batch's key table
// probe with. One function so both agree, plus its step for loops that already walk the key
// (input.ts copies ASCII keys char by char and hashes them in the same pass).

export const KEY_HASH_SEED = 0x811c9dc5;
export const KEY_HASH_PRIME = 0x01000193;

/** One FNV-1a step: fold in one UTF-16 code unit. */
export function keyHashStep(hash: number, code: number): number {
  return Math.imul(hash ^ code, KEY_HASH_PRIME);
}

/** The finished hash, never 0: tables mark an empty slot with 0. */
export function keyHashFinish(hash: number): number {
  return (hash | 0) === 0 ? 1 : hash | 0;
}

export function keyHash(key: string): number {
  let hash = KEY_HASH_SEED;
  for (let i = 0; i < key.length; i += 1) hash = keyHashStep(hash, key.charCodeAt(i));
  return keyHashFinish(hash);
}
