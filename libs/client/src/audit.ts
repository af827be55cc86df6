// The auditor: follows a cluster's signed checkpoints and proves that each one extends the last one
// it accepted, both the state log and every shard's tree. Its trusted checkpoint lives in a file, so
// a rollback or fork is caught across restarts too, and a failure is never "healed" by moving on:
// the state file keeps the last good checkpoint and every later run fails against it again.
// Node only (file store); `cairn audit` in services/proof is a thin CLI over runAudit.
import { nobleHasher, type Hasher } from '@cairn/merkle';
import { verifyHistoryAnswer } from './verify/answers.js';
import { verifyStateProof } from './verify/chain.js';
import { createVerifyContext, verifyCheckpointNote, type TrustedCheckpoint, type VerifyContext } from './verify/checkpoint.js';
import { describe, hex, verifyShardConsistency } from './verify/consistency.js';
import { VerifyError, type VerifyErrorCode } from './verify/errors.js';
import { asObject } from './verify/json.js';
import { RequestError } from './errors.js';
import { HTTP_LIMITS_DEFAULT, Http, joinUrl, type FetchLike } from './http.js';
import { FileStateStore } from './node/file-store.js';
import { Trust } from './trust.js';
import { VersionFloors } from './floors.js';

export const AUDIT_DEFAULTS = {
  iterations_max: 1,
  duration_ms_max: 60_000,
  interval_ms: 1_000,
  /** Old epochs re-proven per round when sampling (each: its state, every shard's prefix proof). */
  sample_epochs_per_round: 4,
  /** Keys whose whole history is re-verified per round when sampling. */
  sample_keys_per_round: 4,
  /** Hard caps, whatever the options say. */
  iterations_cap: 1_000_000,
  sample_cap: 1_000,
} as const;

export interface AuditSampleOptions {
  /** Any string; the same seed and checkpoint always pick the same samples (reproducible alarms). */
  readonly seed: string;
  readonly epochs_per_round?: number;
  /** Keys to draw from; their histories are re-verified record by record. */
  readonly keys?: readonly string[];
  readonly keys_per_round?: number;
}

export interface AuditOptions {
  readonly proofUrl: string;
  readonly verifierKey: string | readonly string[];
  readonly origin: string;
  /** Where the last verified checkpoint is kept between runs. */
  readonly stateFile: string;
  readonly iterations_max?: number;
  readonly duration_ms_max?: number;
  readonly interval_ms?: number;
  /** Re-verify sampled records and old states (off when absent). */
  readonly sample?: AuditSampleOptions;
  readonly request_ms_max?: number;
  readonly hasher?: Hasher;
  readonly fetch?: FetchLike;
  /** One line per event, for people. */
  readonly log?: (line: string) => void;
}

export interface AuditHead {
  readonly size: number;
  /** Hex of the state-log root. */
  readonly root: string;
}

export interface AuditFailure {
  /** A VerifyError code, or `unavailable` when the cluster could not be asked (not evidence of tampering). */
  readonly code: VerifyErrorCode | 'unavailable';
  readonly message: string;
  /** The last checkpoint the auditor trusts. */
  readonly from: AuditHead | undefined;
  /** The checkpoint that failed. */
  readonly to: AuditHead | undefined;
  readonly cause: unknown;
}

export interface AuditReport {
  readonly ok: boolean;
  readonly rounds: number;
  /** Checkpoints accepted after a verified step (forward moves, including the first). */
  readonly advanced: number;
  readonly samples: number;
  readonly trusted: AuditHead | undefined;
  readonly failure: AuditFailure | undefined;
}

interface Session {
  readonly ctx: VerifyContext;
  readonly http: Http;
  readonly trust: Trust;
  readonly options: AuditOptions;
  readonly log: (line: string) => void;
  /** The newest version of each sampled key seen so far in this run (floors.ts). */
  readonly floors: VersionFloors;
}

function head(checkpoint: TrustedCheckpoint | undefined): AuditHead | undefined {
  return checkpoint === undefined ? undefined : { size: checkpoint.size, root: hex(checkpoint.root) };
}

function bounded(value: number | undefined, fallback: number, cap: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 0 || v > cap) throw new RangeError(`${name} must be an integer in [0, ${cap}], got ${String(v)}`);
  return v;
}

/** Runs rounds until iterations_max or duration_ms_max is reached, or the first failure. */
export async function runAudit(options: AuditOptions): Promise<AuditReport> {
  const iterations = bounded(options.iterations_max, AUDIT_DEFAULTS.iterations_max, AUDIT_DEFAULTS.iterations_cap, 'iterations_max');
  const duration = bounded(options.duration_ms_max, AUDIT_DEFAULTS.duration_ms_max, 365 * 86_400_000, 'duration_ms_max');
  const interval = bounded(options.interval_ms, AUDIT_DEFAULTS.interval_ms, 86_400_000, 'interval_ms');
  const session = openSession(options);
  const deadline = Date.now() + duration;
  let rounds = 0;
  let advanced = 0;
  let samples = 0;
  while (rounds < iterations && (rounds === 0 || Date.now() < deadline)) {
    if (rounds > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now()))));
    rounds += 1;
    const round = await auditRound(session);
    advanced += round.advanced;
    samples += round.samples;
    if (round.failure !== undefined) {
      session.log(`audit FAILED [${round.failure.code}] ${round.failure.message}`);
      return { ok: false, rounds, advanced, samples, trusted: round.failure.from, failure: round.failure };
    }
  }
  return { ok: true, rounds, advanced, samples, trusted: head(await session.trust.current()), failure: undefined };
}

/** One round (fetch, verify, advance, sample), for callers that schedule rounds themselves. */
export async function auditOnce(options: AuditOptions): Promise<AuditReport> {
  return runAudit({ ...options, iterations_max: 1 });
}

function openSession(options: AuditOptions): Session {
  const ctx = createVerifyContext({ verifierKey: options.verifierKey, origin: options.origin, hasher: options.hasher ?? nobleHasher });
  const http = new Http(options.fetch, { ...HTTP_LIMITS_DEFAULT, ...(options.request_ms_max === undefined ? {} : { request_ms_max: options.request_ms_max }) });
  const trust = new Trust(ctx, new FileStateStore(options.stateFile), http, options.proofUrl, { strict: true });
  const floors = new VersionFloors(Math.max(1, Math.min(options.sample?.keys?.length ?? 1, AUDIT_DEFAULTS.sample_cap)));
  return { ctx, http, trust, options, log: options.log ?? (() => undefined), floors };
}

interface RoundResult {
  readonly advanced: number;
  readonly samples: number;
  readonly failure: AuditFailure | undefined;
}

async function auditRound(s: Session): Promise<RoundResult> {
  let from: TrustedCheckpoint | undefined;
  let next: TrustedCheckpoint | undefined;
  try {
    from = await s.trust.current();
    const json = asObject(await s.http.get(joinUrl(s.options.proofUrl, '/v1/checkpoint')), 'checkpoint answer');
    next = verifyCheckpointNote(json['checkpoint'], s.ctx);
    const outcome = await s.trust.accept(next);
    const advanced = outcome.step === 'first' || outcome.step === 'forward' ? 1 : 0;
    if (outcome.step === 'first') s.log(`audit: first checkpoint ${describe(next)} (trusted from now on)`);
    if (outcome.step === 'forward' && from !== undefined) s.log(`audit: ${describe(from)} -> ${describe(next)}: state log and every shard consistent`);
    const samples = s.options.sample === undefined ? 0 : await sampleRound(s, next, s.options.sample);
    return { advanced, samples, failure: undefined };
  } catch (cause) {
    return { advanced: 0, samples: 0, failure: failureOf(cause, from, next) };
  }
}

function failureOf(cause: unknown, from: TrustedCheckpoint | undefined, to: TrustedCheckpoint | undefined): AuditFailure {
  const between = `(trusted ${from === undefined ? 'nothing yet' : describe(from)}; new ${to === undefined ? 'not verified' : describe(to)})`;
  if (cause instanceof VerifyError) return { code: cause.code, message: `${cause.message} ${between}`, from: head(from), to: head(to), cause };
  if (cause instanceof RequestError) return { code: 'unavailable', message: `${cause.message} ${between}`, from: head(from), to: head(to), cause };
  throw cause;
}

/** Deterministic index in [0, n) from the seed and a label: SHA-256, first 6 bytes, mod n. */
function draw(hasher: Hasher, seed: string, label: string, n: number): number {
  const digest = hasher.sha256(new TextEncoder().encode(`${seed}\n${label}`));
  let x = 0;
  for (let i = 0; i < 6; i += 1) x = x * 256 + (digest[i] as number);
  return x % n;
}

async function sampleRound(s: Session, at: TrustedCheckpoint, sample: AuditSampleOptions): Promise<number> {
  const epochs = bounded(sample.epochs_per_round, AUDIT_DEFAULTS.sample_epochs_per_round, AUDIT_DEFAULTS.sample_cap, 'epochs_per_round');
  const keysPerRound = bounded(sample.keys_per_round, AUDIT_DEFAULTS.sample_keys_per_round, AUDIT_DEFAULTS.sample_cap, 'keys_per_round');
  let done = 0;
  // Old states: state e is still leaf e-1 of the signed log, and every shard at e is a prefix of its tree now.
  for (let j = 0; at.size >= 2 && j < epochs; j += 1) {
    const e = 1 + draw(s.ctx.hasher, sample.seed, `epoch/${at.size}/${j}`, at.size - 1);
    const json = asObject(await s.http.get(joinUrl(s.options.proofUrl, `/v1/consistency?from=${e}&to=${at.size}`)), 'consistency answer');
    const older = verifyStateProof(json['from'], at, s.ctx);
    const newer = verifyStateProof(json['to'], at, s.ctx);
    if (older.index !== e - 1 || newer.index !== at.size - 1) throw new VerifyError('state_mismatch', `sampled states ${older.index + 1}, ${newer.index + 1}; asked ${e}, ${at.size}`);
    verifyShardConsistency(older.state, newer.state, json['shards'], s.ctx, `between epochs ${e} and ${at.size}`);
    done += 1;
  }
  const keys = sample.keys ?? [];
  for (let j = 0; keys.length > 0 && j < keysPerRound; j += 1) {
    const key = keys[draw(s.ctx.hasher, sample.seed, `key/${at.size}/${j}`, keys.length)] as string;
    const answer = verifyHistoryAnswer(await s.http.get(joinUrl(s.options.proofUrl, `/v1/keys/${encodeURIComponent(key)}/history`)), s.ctx, key);
    // A later round must not show a shorter history from a state that holds what an earlier one proved.
    s.floors.check(key, answer.records.at(-1)?.version ?? 0, answer.state.state);
    await s.trust.accept(answer.checkpoint);
    s.floors.learn(answer.records);
    done += answer.records.length;
  }
  if (done > 0) s.log(`audit: ${done} sampled states/records re-verified at ${describe(at)}`);
  return done;
}

/** A one-paragraph human summary; `cairn audit` prints it and exits non-zero when !ok. */
export function formatAuditReport(report: AuditReport): string {
  const trusted = report.trusted === undefined ? 'none' : `size ${report.trusted.size} root ${report.trusted.root}`;
  const summary = `${report.rounds} round(s), ${report.advanced} checkpoint(s) accepted, ${report.samples} sample(s); trusted checkpoint: ${trusted}`;
  if (report.ok || report.failure === undefined) return `audit OK: ${summary}`;
  return `audit FAILED [${report.failure.code}]: ${report.failure.message}\n${summary}`;
}
