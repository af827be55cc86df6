// The links between a signed checkpoint and one record (docs/design/proofs.md, "Why a chain"):
//   global state leaf --inclusion--> state-log root (checkpoint size)
//   record leaf       --inclusion--> shard root (the size listed in that global state)
// Nothing the server states is trusted: every hash is recomputed from the bytes it sent.
import { MerkleError, verifyInclusion } from '@cairn/merkle';
import { decodeGlobalState, encodeLeaf, shardOfKey, stateLogEntry, type GlobalState, type LeafEntry } from '@cairn/wire';
import { sameBytes, type TrustedCheckpoint, type VerifyContext } from './checkpoint.js';
import { VerifyError } from './errors.js';
import { asBoolean, asBytes, asCount, asHashList, asObject, asString, malformed } from './json.js';

/** A global state proven to be leaf `index` of the state log at a trusted checkpoint. */
export interface ProvenState {
  readonly index: number;
  readonly bytes: Uint8Array;
  readonly state: GlobalState;
}

/** A record proven into its shard's root at a proven global state. */
export interface ProvenRecord {
  readonly shard: number;
  readonly leafIndex: number;
  readonly txId: string;
  readonly key: string;
  readonly version: number;
  readonly valueHash: Uint8Array;
  readonly metaHash: Uint8Array;
  /** Canonical JSON bytes of the value; null when it was erased (its hash still proves what it was). */
  readonly value: Uint8Array | null;
  readonly erased: boolean;
  /** Canonical JSON bytes of the transaction's metadata. */
  readonly meta: Uint8Array;
}

export function parseEntry(value: unknown, what: string): LeafEntry {
  const o = asObject(value, what);
  const version = asCount(o['version'], `${what}.version`);
  return {
    txId: asString(o['txId'], `${what}.txId`),
    key: asString(o['key'], `${what}.key`),
    version,
    valueHash: asBytes(o['valueHash'], `${what}.valueHash`),
    metaHash: asBytes(o['metaHash'], `${what}.metaHash`),
  };
}

function sameEntry(a: LeafEntry, b: LeafEntry): boolean {
  return a.txId === b.txId && a.key === b.key && a.version === b.version && sameBytes(a.valueHash, b.valueHash) && sameBytes(a.metaHash, b.metaHash);
}

function inclusion(leaf: Uint8Array, index: number, size: number, proof: Uint8Array[], root: Uint8Array, ctx: VerifyContext, what: string): void {
  try {
    verifyInclusion(ctx.hasher.leaf(leaf), index, size, proof, root, ctx.hasher);
  } catch (cause) {
    if (cause instanceof MerkleError) throw new VerifyError('inclusion_failed', `${what}: ${cause.message}`, { cause });
    throw cause;
  }
}

/**
 * Proves `json` (a `state` object of the API) into the checkpoint. `index` is the state-log leaf
 * index (epoch - 1). The leaf is rebuilt from the state bytes; the server's `entry` must equal it.
 */
export function verifyStateProof(json: unknown, checkpoint: TrustedCheckpoint, ctx: VerifyContext): ProvenState {
  const o = asObject(json, 'state');
  const index = asCount(o['index'], 'state.index');
  const bytes = asBytes(o['bytes'], 'state.bytes');
  const given = parseEntry(o['entry'], 'state.entry');
  const proof = asHashList(o['inclusion'], 'state.inclusion');
  if (index + 1 > Number.MAX_SAFE_INTEGER) throw malformed('state.index is too large');
  const expected = stateLogEntry(index + 1, bytes, ctx.hasher.sha256);
  if (!sameEntry(given, expected)) {
    throw new VerifyError('state_mismatch', `state-log entry of epoch ${index + 1} does not match the state bytes`);
  }
  inclusion(encodeLeaf(expected), index, checkpoint.size, proof, checkpoint.root, ctx, `state ${index + 1} into checkpoint ${checkpoint.size}`);
  let state: GlobalState;
  try {
    state = decodeGlobalState(bytes);
  } catch (cause) {
    throw new VerifyError('state_mismatch', `signed global state of epoch ${index + 1} does not decode`, { cause });
  }
  if (state.epoch !== index + 1) throw new VerifyError('state_mismatch', `global state at leaf ${index} names epoch ${state.epoch}`);
  if (state.origin !== ctx.origin) {
    throw new VerifyError('state_mismatch', `global state origin ${JSON.stringify(state.origin)} is not ${JSON.stringify(ctx.origin)}`);
  }
  return { index, bytes, state };
}

/** Proves one `record` of the API into its shard's root at `proven`. */
export function verifyRecordProof(json: unknown, proven: ProvenState, ctx: VerifyContext): ProvenRecord {
  const o = asObject(json, 'record');
  const shard = asCount(o['shard'], 'record.shard');
  const leafIndex = asCount(o['leafIndex'], 'record.leafIndex');
  const entry = parseEntry(o['entry'], 'record.entry');
  const erased = asBoolean(o['erased'], 'record.erased');
  const value = o['value'] === null ? null : asBytes(o['value'], 'record.value');
  const meta = asBytes(o['meta'], 'record.meta');
  const proof = asHashList(o['inclusion'], 'record.inclusion');
  if (erased !== (value === null)) throw malformed('record.value must be null exactly when record.erased is true');
  const count = proven.state.shards.length;
  let expectedShard: number;
  try {
    expectedShard = shardOfKey(entry.key, count, ctx.hasher.sha256);
  } catch (cause) {
    throw new VerifyError('entry_mismatch', `record key ${JSON.stringify(entry.key)} has no shard`, { cause });
  }
  if (shard !== expectedShard) {
    throw new VerifyError('entry_mismatch', `key ${JSON.stringify(entry.key)} lives on shard ${expectedShard}, record says ${shard}`);
  }
  if (value !== null && !sameBytes(ctx.hasher.sha256(value), entry.valueHash)) {
    throw new VerifyError('value_mismatch', `value of ${JSON.stringify(entry.key)} v${entry.version} does not hash to the leaf's value hash`);
  }
  if (!sameBytes(ctx.hasher.sha256(meta), entry.metaHash)) {
    throw new VerifyError('value_mismatch', `meta of ${JSON.stringify(entry.key)} v${entry.version} does not hash to the leaf's meta hash`);
  }
  let leaf: Uint8Array;
  try {
    leaf = encodeLeaf(entry);
  } catch (cause) {
    throw new VerifyError('entry_mismatch', 'record entry cannot be encoded as a leaf', { cause });
  }
  const head = proven.state.shards[shard];
  if (head === undefined) throw new VerifyError('state_mismatch', `state has no shard ${shard}`);
  inclusion(leaf, leafIndex, head.size, proof, head.root, ctx, `record ${leafIndex} into shard ${shard} at size ${head.size}`);
  return { shard, leafIndex, ...pick(entry), value, erased, meta };
}

function pick(entry: LeafEntry): Pick<ProvenRecord, 'txId' | 'key' | 'version' | 'valueHash' | 'metaHash'> {
  return { txId: entry.txId, key: entry.key, version: entry.version, valueHash: entry.valueHash, metaHash: entry.metaHash };
}
