// Whole answers of the read API: the envelope (checkpoint + state) and the record(s), with the
// checks that tie them to the question asked (key, version order, transaction id).
import { verifyCheckpointNote, type TrustedCheckpoint, type VerifyContext } from './checkpoint.js';
import { verifyRecordProof, verifyStateProof, type ProvenRecord, type ProvenState } from './chain.js';
import { VerifyError } from './errors.js';
import { asArray, asObject, malformed } from './json.js';

/** Most records one history or transaction answer may carry; a bound on the work a server can ask for. */
export const ANSWER_RECORDS_MAX = 100_000;

export interface VerifiedAnswer {
  readonly checkpoint: TrustedCheckpoint;
  readonly state: ProvenState;
}

export interface VerifiedRecordAnswer extends VerifiedAnswer {
  readonly record: ProvenRecord;
}

export interface VerifiedRecordsAnswer extends VerifiedAnswer {
  readonly records: readonly ProvenRecord[];
}

/**
 * Checkpoint + state of any answer. `epoch` is the state the question asked for; without it the
 * answer must be at the checkpoint's newest state, so a server cannot answer "latest" from the past.
 */
export function verifyEnvelope(json: unknown, ctx: VerifyContext, epoch?: number): VerifiedAnswer {
  const o = asObject(json, 'answer');
  const checkpoint = verifyCheckpointNote(o['checkpoint'], ctx);
  const state = verifyStateProof(o['state'], checkpoint, ctx);
  const wanted = epoch ?? checkpoint.size;
  if (state.state.epoch !== wanted) {
    throw new VerifyError('state_mismatch', `answer is at epoch ${state.state.epoch}, asked for epoch ${wanted} (checkpoint size ${checkpoint.size})`);
  }
  return { checkpoint, state };
}

/** `GET /v1/keys/{key}` (epoch undefined) and `?at=<epoch>`. */
export function verifyKeyAnswer(json: unknown, ctx: VerifyContext, key: string, epoch?: number): VerifiedRecordAnswer {
  const envelope = verifyEnvelope(json, ctx, epoch);
  const record = verifyRecordProof(asObject(json, 'answer')['record'], envelope.state, ctx);
  if (record.key !== key) throw new VerifyError('entry_mismatch', `asked for key ${JSON.stringify(key)}, got ${JSON.stringify(record.key)}`);
  return { ...envelope, record };
}

/** `GET /v1/keys/{key}/history` (and `?at=<epoch>`): versions 1..n of the key, in order, each proven. */
export function verifyHistoryAnswer(json: unknown, ctx: VerifyContext, key: string, epoch?: number): VerifiedRecordsAnswer {
  const envelope = verifyEnvelope(json, ctx, epoch);
  const records = recordsOf(json, envelope.state, ctx);
  records.forEach((record, i) => {
    if (record.key !== key) throw new VerifyError('entry_mismatch', `history of ${JSON.stringify(key)} holds key ${JSON.stringify(record.key)}`);
    if (record.version !== i + 1) throw new VerifyError('entry_mismatch', `history item ${i} is version ${record.version}, expected ${i + 1}`);
  });
  return { ...envelope, records };
}

/** `GET /v1/transactions/{id}`: every record carries the id, each key once. */
export function verifyTransactionAnswer(json: unknown, ctx: VerifyContext, id: string): VerifiedRecordsAnswer {
  const envelope = verifyEnvelope(json, ctx);
  const records = recordsOf(json, envelope.state, ctx);
  const keys = new Set<string>();
  for (const record of records) {
    if (record.txId !== id) throw new VerifyError('entry_mismatch', `transaction ${JSON.stringify(id)} holds a record of ${JSON.stringify(record.txId)}`);
    if (keys.has(record.key)) throw new VerifyError('entry_mismatch', `transaction ${JSON.stringify(id)} lists key ${JSON.stringify(record.key)} twice`);
    keys.add(record.key);
  }
  return { ...envelope, records };
}

function recordsOf(json: unknown, state: ProvenState, ctx: VerifyContext): ProvenRecord[] {
  const list = asArray(asObject(json, 'answer')['records'], 'records', ANSWER_RECORDS_MAX);
  if (list.length === 0) throw malformed('records is empty');
  return list.map((item) => verifyRecordProof(item, state, ctx));
}
