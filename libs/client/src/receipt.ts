// A write receipt is the ingest's word, not a proof. It is verified against the transaction as
// proven at a signed state: its records must be exactly the proven ones, and every shard head
// (size, root) it names must be a prefix of that shard's tree in the signed state. A head is
// proven either by equal roots (same size) or by a shard consistency proof (smaller size); a head
// no proof was offered for is reported `unproven`, and the receipt is then not verified.
// Reasons: docs/design/client.md, "Receipts".
import { MerkleError, verifyConsistency } from '@cairn/merkle';
import { canonicalJsonBytes, type GlobalState, type Receipt, type ReceiptShard, type TransactionInput } from '@cairn/wire';
import { base64Encode } from '@cairn/checkpoint';
import { sameBytes, type VerifyContext } from './verify/checkpoint.js';
import type { ProvenRecord } from './verify/chain.js';
import { VerifyError } from './verify/errors.js';
import { asBytes, asHashList, asObject, malformed } from './verify/json.js';

/** How one shard head of a receipt was tied to the signed state. */
export type HeadCheck = 'same_root' | 'consistency' | 'unproven';

export interface ReceiptHeadCheck {
  readonly shard: number;
  readonly size: number;
  readonly check: HeadCheck;
}

/**
 * The answer of `GET /v1/shards/{shard}/consistency?from=<size1>&to=<size2>` (`{ proof: [b64...] }`),
 * or undefined when the server offers no such proof (`404`): then the head stays `unproven`.
 */
export type ShardProofSource = (shard: number, size1: number, size2: number) => Promise<unknown>;

/** What the proven transaction and its signed state need to hold for a receipt to be checked. */
export interface ProvenTransaction {
  readonly state: GlobalState;
  readonly records: readonly ProvenRecord[];
}

/** True when the signed state has every shard of the receipt at or beyond the receipt's size. */
export function coversReceipt(proven: ProvenTransaction, receipt: Receipt): boolean {
  return receipt.shards.every((s) => {
    const record = proven.records.find((r) => r.shard === s.shard);
    return record !== undefined && record.leafIndex < s.size && (proven.state.shards[s.shard]?.size ?? 0) >= s.size;
  });
}

/** The proven transaction is exactly what was written and what the receipt promised. */
export function checkReceiptRecords(tx: TransactionInput, receipt: Receipt, proven: ProvenTransaction, ctx: VerifyContext): void {
  const metaHash = ctx.hasher.sha256(canonicalJsonBytes(tx.meta ?? {}));
  if (proven.records.length !== receipt.records.length || proven.records.length !== tx.records.length) {
    throw new VerifyError('entry_mismatch', `transaction ${receipt.id} has ${proven.records.length} proven records, wrote ${tx.records.length}, receipt lists ${receipt.records.length}`);
  }
  for (const input of tx.records) {
    const record = proven.records.find((r) => r.key === input.key);
    const promised = receipt.records.find((r) => r.key === input.key);
    if (record === undefined || promised === undefined) throw new VerifyError('entry_mismatch', `transaction ${receipt.id} lacks key ${JSON.stringify(input.key)}`);
    if (record.version !== promised.version || record.shard !== promised.shard || record.leafIndex !== promised.leafIndex) {
      throw new VerifyError('entry_mismatch', `key ${JSON.stringify(input.key)} is proven as v${record.version} at shard ${record.shard} leaf ${record.leafIndex}, the receipt says v${promised.version} at shard ${promised.shard} leaf ${promised.leafIndex}`);
    }
    // Every record's shard needs a head that holds it, or a receipt could leave out the head it cannot back.
    const head = receipt.shards.find((h) => h.shard === record.shard);
    if (head === undefined) throw new VerifyError('entry_mismatch', `receipt ${receipt.id} names no head for shard ${record.shard}`);
    if (!(record.leafIndex < head.size)) throw new VerifyError('entry_mismatch', `receipt ${receipt.id}: leaf ${record.leafIndex} of ${JSON.stringify(input.key)} is outside its head of shard ${head.shard} (size ${head.size})`);
    checkExpect(input.expect, record, receipt.id);
    if (!sameBytes(record.valueHash, ctx.hasher.sha256(canonicalJsonBytes(input.value)))) {
      throw new VerifyError('value_mismatch', `the proven value of ${JSON.stringify(input.key)} is not the value written`);
    }
    if (!sameBytes(record.metaHash, metaHash)) throw new VerifyError('value_mismatch', `the proven meta of transaction ${receipt.id} is not the meta written`);
  }
}

/** A committed precondition fixes the version: `{version: n}` wrote n+1, `{absent: true}` wrote 1. */
function checkExpect(expect: TransactionInput['records'][number]['expect'], record: ProvenRecord, id: string): void {
  if (expect === undefined) return;
  const wanted = 'absent' in expect ? 1 : expect.version + 1;
  if (record.version !== wanted) {
    throw new VerifyError('entry_mismatch', `transaction ${id} wrote ${JSON.stringify(record.key)} with expect ${JSON.stringify(expect)}, but the proven version is ${record.version}, not ${wanted}`);
  }
}

/**
 * Ties every shard head of the receipt to the same shard's head in `state` (a verified signed
 * state that covers the receipt). Throws when a head is contradicted; returns one check per head.
 */
export async function checkReceiptHeads(receipt: Receipt, state: GlobalState, ctx: VerifyContext, source: ShardProofSource): Promise<ReceiptHeadCheck[]> {
  const checks: ReceiptHeadCheck[] = [];
  // One at a time: a receipt names at most one head per shard it touched, usually one or two.
  for (const head of receipt.shards) checks.push({ shard: head.shard, size: head.size, check: await checkHead(head, state, ctx, source) });
  return checks;
}

async function checkHead(head: ReceiptShard, state: GlobalState, ctx: VerifyContext, source: ShardProofSource): Promise<HeadCheck> {
  const root = asBytes(head.root, `receipt root of shard ${head.shard}`);
  if (!Number.isSafeInteger(head.size) || head.size < 1) throw malformed(`receipt size of shard ${head.shard} must be an integer >= 1, got ${String(head.size)}`);
  const signed = state.shards[head.shard];
  // The caller waits for a covering state first; anything else is a broken caller, not a lie.
  if (signed === undefined || signed.size < head.size) throw new RangeError(`state ${state.epoch} does not cover shard ${head.shard} at size ${head.size}`);
  const where = `shard ${head.shard}: receipt size ${head.size} root ${head.root}, signed state ${state.epoch} size ${signed.size} root ${base64Encode(signed.root)}`;
  if (signed.size === head.size) {
    if (!sameBytes(signed.root, root)) throw new VerifyError('state_mismatch', `receipt root is not the signed root at the same size (${where})`);
    return 'same_root';
  }
  const answer = await source(head.shard, head.size, signed.size);
  if (answer === undefined) return 'unproven';
  const proof = asHashList(asObject(answer, 'shard consistency answer')['proof'], 'proof');
  try {
    verifyConsistency(head.size, signed.size, proof, root, signed.root, ctx.hasher);
  } catch (cause) {
    if (cause instanceof MerkleError) throw new VerifyError('consistency_failed', `the signed tree does not extend the receipt's (${where}): ${cause.message}`, { cause });
    throw cause;
  }
  return 'consistency';
}
