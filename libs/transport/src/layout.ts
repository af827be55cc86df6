import { TransportError, TransportErrorCode } from './errors.js';

/** The shard count is fixed when a cluster is created; this bounds the subjects one stream lists. */
export const SHARD_COUNT_MAX = 1024;
export const REPLICAS_MAX = 5;
/** JetStream's own rule: a stream or consumer name is at most 255 characters without . * > or spaces. */
const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const PREFIX_PATTERN = /^[a-z0-9_-]{1,32}(\.[a-z0-9_-]{1,32}){0,3}$/;
export const DUPLICATE_WINDOW_MS_MAX = 24 * 3_600_000;

export interface StreamLayoutOptions {
  readonly shard_count: number;
  readonly stream?: string;
  readonly subject_prefix?: string;
  /** 1 locally; 3 in a NATS cluster. */
  readonly replicas?: number;
  /** How long JetStream remembers a Nats-Msg-Id to drop a retried publish. */
  readonly duplicate_window_ms?: number;
}

export interface StreamLayout {
  readonly stream: string;
  readonly subject_prefix: string;
  readonly shard_count: number;
  readonly replicas: number;
  readonly duplicate_window_ms: number;
}

export const LAYOUT_DEFAULTS = Object.freeze({
  stream: 'LEDGER',
  subject_prefix: 'ledger',
  replicas: 1,
  duplicate_window_ms: 120_000,
});

function configError(message: string): TransportError {
  return new TransportError(TransportErrorCode.CONFIG, message);
}

/** Checks every field and fills the named defaults; the result is frozen. */
export function streamLayout(opts: StreamLayoutOptions): StreamLayout {
  const layout: StreamLayout = {
    stream: opts.stream ?? LAYOUT_DEFAULTS.stream,
    subject_prefix: opts.subject_prefix ?? LAYOUT_DEFAULTS.subject_prefix,
    shard_count: opts.shard_count,
    replicas: opts.replicas ?? LAYOUT_DEFAULTS.replicas,
    duplicate_window_ms: opts.duplicate_window_ms ?? LAYOUT_DEFAULTS.duplicate_window_ms,
  };
  if (!NAME_PATTERN.test(layout.stream)) throw configError(`bad stream name ${JSON.stringify(layout.stream)}`);
  if (!PREFIX_PATTERN.test(layout.subject_prefix)) throw configError(`bad subject prefix ${JSON.stringify(layout.subject_prefix)}`);
  if (!Number.isSafeInteger(layout.shard_count) || layout.shard_count < 1 || layout.shard_count > SHARD_COUNT_MAX) {
    throw configError(`shard_count must be an integer in [1, ${SHARD_COUNT_MAX}], got ${layout.shard_count}`);
  }
  if (!Number.isSafeInteger(layout.replicas) || layout.replicas < 1 || layout.replicas > REPLICAS_MAX) {
    throw configError(`replicas must be an integer in [1, ${REPLICAS_MAX}], got ${layout.replicas}`);
  }
  const window = layout.duplicate_window_ms;
  if (!Number.isSafeInteger(window) || window < 1_000 || window > DUPLICATE_WINDOW_MS_MAX) {
    throw configError(`duplicate_window_ms must be an integer in [1000, ${DUPLICATE_WINDOW_MS_MAX}], got ${window}`);
  }
  return Object.freeze(layout);
}

function checkShard(layout: StreamLayout, shard: number): void {
  if (!Number.isSafeInteger(shard) || shard < 0 || shard >= layout.shard_count) {
    throw new TransportError(TransportErrorCode.BAD_INPUT, `shard ${shard} is outside [0, ${layout.shard_count})`);
  }
}

/** The stream subject that carries shard `shard`'s messages (and its epoch markers). */
export function shardSubject(layout: StreamLayout, shard: number): string {
  checkShard(layout, shard);
  return `${layout.subject_prefix}.shard.${shard}`;
}

/** Every subject of the stream, in shard order: the list IS the shard count, as the server stores it. */
export function shardSubjects(layout: StreamLayout): string[] {
  const subjects: string[] = [];
  for (let shard = 0; shard < layout.shard_count; shard += 1) subjects.push(shardSubject(layout, shard));
  return subjects;
}

/** The shard a stream subject belongs to, or undefined if it is not one of this layout's. */
export function shardOfSubject(layout: StreamLayout, subject: string): number | undefined {
  const head = `${layout.subject_prefix}.shard.`;
  if (!subject.startsWith(head)) return undefined;
  const tail = subject.slice(head.length);
  if (!/^(0|[1-9][0-9]{0,8})$/.test(tail)) return undefined;
  const shard = Number(tail);
  return shard < layout.shard_count ? shard : undefined;
}

/** Core-NATS subject (not stored) on which a shard announces what it committed. */
export function commitSubject(layout: StreamLayout, shard: number): string {
  checkShard(layout, shard);
  return `${layout.subject_prefix}.commit.${shard}`;
}

/** Wildcard for every shard's commit events. */
export function commitSubjectAll(layout: StreamLayout): string {
  return `${layout.subject_prefix}.commit.*`;
}

/** Request/reply subject of a shard's read API. */
export function readSubject(layout: StreamLayout, shard: number): string {
  checkShard(layout, shard);
  return `${layout.subject_prefix}.read.${shard}`;
}

/** The stream of id claims beside the ledger stream: one subject per claimed key, written once. */
export function claimStream(layout: StreamLayout): string {
  return `${layout.stream}_CLAIMS`;
}

/** Wildcard of every claim subject: the claim stream's only subject filter. */
export function claimSubjectAll(layout: StreamLayout): string {
  return `${layout.subject_prefix}.claim.*`;
}

/**
 * The subject holding the claim on `key_hex`, a lowercase hex SHA-256 (64 digits): hashing the key
 * keeps any client string out of the subject grammar (dots, wildcards) and bounds its length.
 */
export function claimSubject(layout: StreamLayout, key_hex: string): string {
  if (!/^[0-9a-f]{64}$/.test(key_hex)) throw new TransportError(TransportErrorCode.BAD_INPUT, `claim key must be 64 lowercase hex digits, got ${JSON.stringify(key_hex)}`);
  return `${layout.subject_prefix}.claim.${key_hex}`;
}
