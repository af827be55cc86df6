// Hash tags that spread the load over the shards. A tag alone decides a key's shard, so the n-th
// shop (or token) gets the first tag of the form `<base><n>-<j>` that lands on shard n mod
// shards. The shard count is a hint (`--shards`): a wrong hint only spreads the load less evenly,
// every check holds whatever shard a key lands on.
import { shardOfKey } from '@cairn/wire';

/** Candidates tried per tag; each lands on the wanted shard with probability 1/shards. */
export const TAG_TRIES_MAX = 1_000;

export function spreadTag(base: string, index: number, shards: number): string {
  if (!Number.isSafeInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, got ${shards}`);
  const want = index % shards;
  for (let j = 0; j < TAG_TRIES_MAX; j += 1) {
    const tag = `${base}${index}-${j}`;
    if (shardOfKey(`{${tag}}:`, shards) === want) return tag;
  }
  // (1 - 1/64)^1000 < 1e-6 for the largest cluster: unreachable in practice, and harmless.
  return `${base}${index}`;
}
