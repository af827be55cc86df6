// Claims of client ids at the broker, decided before a transaction is published. Each shard keeps
// idempotency for its own part only, so an id reused with different content on a different set of
// shards would be refused by a shard that saw it and committed by one that did not: half a
// transaction. A claim binds the id to the content hash once, at one place for the whole cluster,
// so a conflicting reuse is refused before any shard sees it. Reasons: docs/design/ingest.md.
import { ATOMIC_BATCH_MSGS_MAX, TransportErrorCode, isTransportError, type Transport } from '@cairn/transport';
import { CairnError, assignedIdPrefix, type Sha256 } from '@cairn/wire';

export interface ClaimRequest {
  readonly id: string;
  readonly contentHash: Uint8Array;
}

// claimed: this request made the claim. same: the id was claimed before for this very content
// (a retry; the shards answer the original receipt). conflict: claimed for other content.
export type ClaimVerdict = 'claimed' | 'same' | 'conflict';

export interface ClaimPort {
  // One verdict per request, in order. Failures are CairnErrors: timeout (whether the claim was
  // made is unknown; a retry with the same content is safe either way), unavailable, backpressure.
  claim(requests: readonly ClaimRequest[]): Promise<ClaimVerdict[]>;
}

// Claims sent as one create-only atomic batch (the broker's limit), and so also the most decided
// one by one, pipelined, when that batch finds an id taken.
export const claims_batch_max = ATOMIC_BATCH_MSGS_MAX;
const content_hash_bytes = 32;

// Ids the gateway assigns are unique by construction (session, counter) and start with a
// character a client id cannot have: they need no claim.
export function needsClaim(id: string): boolean {
  return !id.startsWith(assignedIdPrefix);
}

// The claim subject's key: a hash, so that no client string enters the subject grammar.
export function claimKeyHex(id: string, sha256: Sha256): string {
  return Buffer.from(sha256(new TextEncoder().encode(id))).toString('hex');
}

export function natsClaims(transport: Transport, sha256: Sha256, mapError: (error: unknown) => CairnError, retryAfterSeconds: number): ClaimPort {
  const claimOne = async (r: ClaimRequest): Promise<ClaimVerdict> => {
    const key = claimKeyHex(r.id, sha256);
    try {
      await transport.createClaim(key, r.contentHash);
      return 'claimed';
    } catch (error) {
      if (!isTransportError(error, TransportErrorCode.WRONG_LAST_SEQUENCE)) throw mapError(error);
    }
    let held: Awaited<ReturnType<Transport['readClaim']>>;
    try {
      held = await transport.readClaim(key);
    } catch (error) {
      throw mapError(error);
    }
    // A claim is never deleted (the stream denies it), and it is read from the stream's leader. If it
    // still cannot be read, the leader changed in between and the new one has not applied it yet:
    // the outcome is open for now, so 503 and a retry with the same id, not a 500.
    if (held === undefined) throw new CairnError('unavailable', `claim of id ${r.id} was refused as taken but cannot be read yet; retry with the same id`, { retryAfterSeconds });
    assert(held.data.length === content_hash_bytes, `claim of id ${r.id} holds ${held.data.length} bytes`);
    return bytesEqual(held.data, r.contentHash) ? 'same' : 'conflict';
  };
  // The common case, fresh ids, costs one atomic batch and one ack. If any id of it was taken the
  // broker stores none of it, and each is then decided alone: all sent before any answer is awaited.
  const claimChunk = async (chunk: readonly ClaimRequest[]): Promise<ClaimVerdict[]> => {
    try {
      await transport.createClaims(chunk.map((r) => ({ key_hex: claimKeyHex(r.id, sha256), data: r.contentHash })));
      return chunk.map(() => 'claimed');
    } catch (error) {
      if (!isTransportError(error, TransportErrorCode.WRONG_LAST_SEQUENCE)) throw mapError(error);
    }
    return Promise.all(chunk.map(claimOne));
  };
  return {
    async claim(requests) {
      for (const r of requests) assert(r.contentHash.length === content_hash_bytes, `content hash of ${r.contentHash.length} bytes`);
      const verdicts: ClaimVerdict[] = [];
      for (let start = 0; start < requests.length; start += claims_batch_max) {
        verdicts.push(...(await claimChunk(requests.slice(start, start + claims_batch_max))));
      }
      assert(verdicts.length === requests.length, `${verdicts.length} verdicts for ${requests.length} claims`);
      return verdicts;
    },
  };
}

// Splits a flush into what may be published and what must be refused (id claimed for other
// content). Waiters with assigned ids pass without a claim.
export async function claimFlush<T extends { readonly id: string; readonly tx: { readonly contentHash: Uint8Array } }>(
  port: ClaimPort,
  taken: readonly T[],
): Promise<{ owned: T[]; refused: T[] }> {
  const claimed = taken.filter((w) => needsClaim(w.id));
  if (claimed.length === 0) return { owned: [...taken], refused: [] };
  const verdicts = await port.claim(claimed.map((w) => ({ id: w.id, contentHash: w.tx.contentHash })));
  assert(verdicts.length === claimed.length, `${verdicts.length} verdicts for ${claimed.length} claims`);
  const refused = new Set(claimed.filter((_, i) => verdicts[i] === 'conflict'));
  return { owned: taken.filter((w) => !refused.has(w)), refused: [...refused] };
}

function assert(condition: boolean, what: string): asserts condition {
  if (!condition) throw new CairnError('internal', `assertion failed: ${what}`);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
