// Moving trust forward. A client holding checkpoint (n1, r1) accepts (n2, r2) only with a proof that
// the state log of size n2 extends the one of size n1; a full check also proves that every shard's
// tree in state n2 extends its tree in state n1 (the state log could be append-only while a shard
// rewrote its history: only the shard proofs catch that).
import { MerkleError, verifyConsistency } from '@cairn/merkle';
import type { GlobalState } from '@cairn/wire';
import { sameBytes, type TrustedCheckpoint, type VerifyContext } from './checkpoint.js';
import { verifyStateProof, type ProvenState } from './chain.js';
import { VerifyError } from './errors.js';
import { asArray, asCount, asHashList, asObject, malformed } from './json.js';

export type Advance = 'same' | 'forward' | 'backward';

export function describe(checkpoint: Pick<TrustedCheckpoint, 'size' | 'root'>): string {
  return `size ${checkpoint.size} root ${hex(checkpoint.root)}`;
}

/** How `next` relates to what is trusted. Same size with another root is a fork: both are signed. */
export function compareCheckpoints(trusted: TrustedCheckpoint, next: TrustedCheckpoint): Advance {
  if (next.size === trusted.size) {
    if (!sameBytes(next.root, trusted.root)) {
      throw new VerifyError('fork', `two signed checkpoints of size ${next.size} with different roots: ${hex(trusted.root)} and ${hex(next.root)}`);
    }
    return 'same';
  }
  return next.size > trusted.size ? 'forward' : 'backward';
}

export interface VerifiedConsistency {
  readonly from: ProvenState;
  readonly to: ProvenState;
}

/**
 * Verifies a `/v1/consistency?from=n1&to=n2` answer between two verified checkpoints
 * (n1 = older.size >= 1, n2 = newer.size > n1): both states proven at n2, the state-log
 * consistency proof, and every shard's consistency proof between the two states.
 */
export function verifyConsistencyAnswer(json: unknown, older: TrustedCheckpoint, newer: TrustedCheckpoint, ctx: VerifyContext): VerifiedConsistency {
  if (!(older.size >= 1 && newer.size > older.size)) throw new RangeError(`consistency needs 1 <= n1 < n2, got ${older.size}, ${newer.size}`);
  const o = asObject(json, 'consistency answer');
  const between = `between checkpoints ${describe(older)} and ${describe(newer)}`;
  const proof = asHashList(o['proof'], 'proof');
  try {
    verifyConsistency(older.size, newer.size, proof, older.root, newer.root, ctx.hasher);
  } catch (cause) {
    if (cause instanceof MerkleError) throw new VerifyError('fork', `state log is not append-only ${between}: ${cause.message}`, { cause });
    throw cause;
  }
  const from = verifyStateProof(o['from'], newer, ctx);
  const to = verifyStateProof(o['to'], newer, ctx);
  if (from.index !== older.size - 1 || to.index !== newer.size - 1) {
    throw new VerifyError('state_mismatch', `consistency answer proves states ${from.index + 1} and ${to.index + 1}, asked for ${older.size} and ${newer.size}`);
  }
  verifyShardConsistency(from.state, to.state, o['shards'], ctx, between);
  return { from, to };
}

/** Every shard of `to` extends the same shard of `from`: sizes never shrink, proofs verify. */
export function verifyShardConsistency(from: GlobalState, to: GlobalState, json: unknown, ctx: VerifyContext, between = ''): void {
  const count = from.shards.length;
  if (to.shards.length !== count) throw new VerifyError('state_mismatch', `shard count changed from ${count} to ${to.shards.length} ${between}`);
  if (to.cut < from.cut) throw new VerifyError('rollback', `epoch ${to.epoch} cuts the stream at ${to.cut}, before epoch ${from.epoch}'s ${from.cut} ${between}`);
  const proofs = shardProofs(json, count);
  for (let shard = 0; shard < count; shard += 1) {
    const a = from.shards[shard];
    const b = to.shards[shard];
    if (a === undefined || b === undefined) throw new VerifyError('state_mismatch', `shard ${shard} missing`);
    const where = `shard ${shard} from size ${a.size} root ${hex(a.root)} (epoch ${from.epoch}) to size ${b.size} root ${hex(b.root)} (epoch ${to.epoch}) ${between}`;
    if (b.size < a.size) throw new VerifyError('rollback', `tree shrank: ${where}`);
    const proof = proofs.get(shard) ?? [];
    if (a.size === 0) continue; // every tree extends the empty tree
    if (a.size < b.size && !proofs.has(shard)) throw malformed(`no consistency proof for shard ${shard}`);
    try {
      verifyConsistency(a.size, b.size, proof, a.root, b.root, ctx.hasher);
    } catch (cause) {
      if (cause instanceof MerkleError) throw new VerifyError('consistency_failed', `${where}: ${cause.message}`, { cause });
      throw cause;
    }
  }
}

function shardProofs(json: unknown, count: number): Map<number, Uint8Array[]> {
  const list = asArray(json, 'shards', count);
  const proofs = new Map<number, Uint8Array[]>();
  list.forEach((item, i) => {
    const o = asObject(item, `shards[${i}]`);
    const shard = asCount(o['shard'], `shards[${i}].shard`);
    if (shard >= count || proofs.has(shard)) throw malformed(`shards[${i}].shard ${shard} is out of range or repeated`);
    proofs.set(shard, asHashList(o['proof'], `shards[${i}].proof`));
  });
  return proofs;
}

const HEX = '0123456789abcdef';

export function hex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += HEX.charAt(Math.floor(byte / 16)) + HEX.charAt(byte % 16);
  return out;
}
