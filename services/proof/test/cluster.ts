// Helpers for the proof service's end-to-end tests (the cluster itself is @cairn/testkit's): the
// built entries the CLI tests run, HTTP on 127.0.0.1, and verification of every answer against
// the contract (docs/design/proofs.md) with the libraries only.
import { createHash } from 'node:crypto';
import { openCheckpoint, parseVerifierKey, type Checkpoint } from '@cairn/checkpoint';
import { leafHash, verifyInclusion } from '@cairn/merkle';
import { serviceEntry } from '@cairn/testkit';
import { decodeGlobalState, encodeLeaf, shardOfKey, stateLogEntry, type GlobalState, type LeafEntry } from '@cairn/wire';

export const proofMain = serviceEntry('proof');
export const cliMain = serviceEntry('proof', 'cli');

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: Record<string, unknown>;
}

export async function http(url: string, init: { method?: string; body?: unknown; accept?: string } = {}, timeoutMs = 30_000): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.accept !== undefined) headers['accept'] = init.accept;
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  if (text.startsWith('{')) body = JSON.parse(text) as Record<string, unknown>;
  return { status: res.status, headers: res.headers, text, body };
}

// ---- verification, written against the contract (docs/design/proofs.md) with the libraries only.

export const fromB64 = (s: unknown): Uint8Array => {
  if (typeof s !== 'string') throw new Error(`expected base64, got ${JSON.stringify(s)}`);
  return new Uint8Array(Buffer.from(s, 'base64'));
};
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

export interface EntryJson {
  txId: string;
  key: string;
  version: number;
  valueHash: string;
  metaHash: string;
}
export interface StateJson {
  index: number;
  bytes: string;
  entry: EntryJson;
  inclusion: string[];
}
export interface RecordJson {
  shard: number;
  leafIndex: number;
  entry: EntryJson;
  value: string | null;
  erased: boolean;
  meta: string;
  inclusion: string[];
}

export function entryOf(e: EntryJson): LeafEntry {
  return { txId: e.txId, key: e.key, version: e.version, valueHash: fromB64(e.valueHash), metaHash: fromB64(e.metaHash) };
}

/** Opens a signed note with the pinned verifier key and origin; throws on any mismatch. */
export function openNote(note: string, verifierKey: string, origin: string): Checkpoint {
  return openCheckpoint(note, [parseVerifierKey(verifierKey)], { origin }).checkpoint;
}

/** State leaf -> state-log root at `size`; returns the decoded global state. */
export function verifyState(s: StateJson, size: number, logRoot: Uint8Array, origin: string): GlobalState {
  const bytes = fromB64(s.bytes);
  const state = decodeGlobalState(bytes);
  if (state.origin !== origin) throw new Error(`state origin ${state.origin}`);
  if (s.index !== state.epoch - 1) throw new Error(`state index ${s.index} for epoch ${state.epoch}`);
  const expected = stateLogEntry(state.epoch, bytes);
  const leaf = encodeLeaf(expected);
  // The convenience entry must be exactly the recomputed one.
  if (!equal(encodeLeaf(entryOf(s.entry)), leaf)) throw new Error('state entry differs from the recomputed one');
  verifyInclusion(leafHash(leaf), s.index, size, s.inclusion.map(fromB64), logRoot);
  return state;
}

/** Record leaf -> shard root in `state`; checks value and meta hashes and the key's shard. */
export function verifyRecord(r: RecordJson, state: GlobalState, shards: number): void {
  const entry = entryOf(r.entry);
  if (r.value !== null && !equal(sha256(fromB64(r.value)), entry.valueHash)) throw new Error('value hash mismatch');
  if (!equal(sha256(fromB64(r.meta)), entry.metaHash)) throw new Error('meta hash mismatch');
  if (shardOfKey(entry.key, shards) !== r.shard) throw new Error(`key ${entry.key} is not on shard ${r.shard}`);
  const head = state.shards[r.shard];
  if (head === undefined) throw new Error(`no shard ${r.shard} in the state`);
  verifyInclusion(leafHash(encodeLeaf(entry)), r.leafIndex, head.size, r.inclusion.map(fromB64), head.root);
}

export function valueOf(r: RecordJson): unknown {
  return r.value === null ? null : JSON.parse(Buffer.from(fromB64(r.value)).toString('utf8'));
}
