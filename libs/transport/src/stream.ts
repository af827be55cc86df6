import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { TransportError, TransportErrorCode, fromNatsError } from './errors.js';
import { claimStream, claimSubjectAll, shardSubjects, type StreamLayout } from './layout.js';

const MS_TO_NS = 1_000_000;
/** Stream metadata keys: the shard count is recorded beside the subjects so a mismatch is named plainly. */
export const META_SHARD_COUNT = 'cairn.shard_count';
export const META_LAYOUT_VERSION = 'cairn.layout';
const LAYOUT_VERSION = '1';

/** The JetStream configuration a layout stands for. */
export function streamConfig(layout: StreamLayout): Partial<StreamConfig> & { name: string } {
  return {
    name: layout.stream,
    subjects: shardSubjects(layout),
    storage: StorageType.File,
    num_replicas: layout.replicas,
    // The stream is the write-ahead log and the order of record: nothing may expire, be discarded,
    // deleted or purged, or a replay would not reproduce the shards.
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_msgs: -1,
    max_bytes: -1,
    max_age: 0,
    deny_delete: true,
    deny_purge: true,
    allow_atomic: true,
    allow_direct: true,
    duplicate_window: layout.duplicate_window_ms * MS_TO_NS,
    metadata: { [META_SHARD_COUNT]: String(layout.shard_count), [META_LAYOUT_VERSION]: LAYOUT_VERSION },
  };
}

/** Every way an existing stream differs from the layout, as plain sentences; empty means it matches. */
export function layoutMismatches(layout: StreamLayout, info: StreamInfo): string[] {
  const want = streamConfig(layout);
  const have = info.config;
  const problems: string[] = [];
  const shardCount = have.metadata?.[META_SHARD_COUNT];
  if (shardCount !== undefined && shardCount !== String(layout.shard_count)) {
    problems.push(`shard count is ${shardCount}, layout says ${layout.shard_count} (fixed when the cluster was created)`);
  }
  const haveSubjects = [...(have.subjects ?? [])].sort().join(',');
  const wantSubjects = [...(want.subjects ?? [])].sort().join(',');
  if (haveSubjects !== wantSubjects) problems.push(`subjects are [${haveSubjects}], layout says [${wantSubjects}]`);
  if (have.storage !== StorageType.File) problems.push(`storage is ${have.storage}, must be file`);
  if (have.allow_atomic !== true) problems.push('allow_atomic is off');
  if (have.num_replicas !== layout.replicas) problems.push(`replicas are ${have.num_replicas}, layout says ${layout.replicas}`);
  if (have.duplicate_window !== want.duplicate_window) {
    problems.push(`duplicate window is ${have.duplicate_window / MS_TO_NS} ms, layout says ${layout.duplicate_window_ms} ms`);
  }
  if (have.retention !== RetentionPolicy.Limits) problems.push(`retention is ${have.retention}, must be limits`);
  if (have.max_age !== 0 || have.max_msgs !== -1 || have.max_bytes !== -1) problems.push('the stream has limits that would drop messages');
  return problems;
}

export async function findStream(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw fromNatsError(err, `stream info ${name}`);
  }
}

/**
 * Creates the stream if it is missing, else verifies it. Refuses (STREAM_MISMATCH) to run against a
 * stream with a different shard count or settings: changing them under existing shards would
 * re-route keys and break replay, so it is never done silently.
 */
export async function ensureStream(jsm: JetStreamManager, layout: StreamLayout): Promise<StreamInfo> {
  const existing = await findStream(jsm, layout.stream);
  if (existing !== undefined) {
    const problems = layoutMismatches(layout, existing);
    if (problems.length > 0) {
      throw new TransportError(TransportErrorCode.STREAM_MISMATCH, `stream ${layout.stream} does not match the layout: ${problems.join('; ')}`);
    }
    return existing;
  }
  try {
    return await jsm.streams.add(streamConfig(layout));
  } catch (err) {
    // Another process may have created it between our info and add: verify what is there.
    const raced = await findStream(jsm, layout.stream);
    if (raced !== undefined && layoutMismatches(layout, raced).length === 0) return raced;
    throw fromNatsError(err, `create stream ${layout.stream}`);
  }
}

/**
 * The claim stream: each subject holds at most one message, ever. Create-only publishes
 * (Nats-Expected-Last-Subject-Sequence: 0) make the first writer of a subject its owner; discard
 * new per subject refuses any later write even without that header, and delete/purge are denied
 * because a claim must last as long as the ledger's own idempotency, which is permanent.
 */
export function claimStreamConfig(layout: StreamLayout): Partial<StreamConfig> & { name: string } {
  return {
    name: claimStream(layout),
    subjects: [claimSubjectAll(layout)],
    storage: StorageType.File,
    num_replicas: layout.replicas,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    discard_new_per_subject: true,
    max_msgs_per_subject: 1,
    max_msgs: -1,
    max_bytes: -1,
    max_age: 0,
    deny_delete: true,
    deny_purge: true,
    // Reads of a claim are direct gets (last by subject), answered without the stream leader's API.
    allow_direct: true,
    // Many claims go as one create-only atomic batch: one ack for all when none was taken.
    allow_atomic: true,
  };
}

function claimMismatches(layout: StreamLayout, info: StreamInfo): string[] {
  const have = info.config;
  const problems: string[] = [];
  const want = claimSubjectAll(layout);
  if ((have.subjects ?? []).join(',') !== want) problems.push(`subjects are [${(have.subjects ?? []).join(',')}], layout says [${want}]`);
  if (have.storage !== StorageType.File) problems.push(`storage is ${have.storage}, must be file`);
  if (have.num_replicas !== layout.replicas) problems.push(`replicas are ${have.num_replicas}, layout says ${layout.replicas}`);
  if (have.max_msgs_per_subject !== 1) problems.push(`max_msgs_per_subject is ${have.max_msgs_per_subject}, must be 1`);
  if (have.allow_direct !== true) problems.push('allow_direct is off');
  if (have.allow_atomic !== true) problems.push('allow_atomic is off');
  if (have.max_age !== 0 || have.max_msgs !== -1 || have.max_bytes !== -1) problems.push('the stream has limits that would drop claims');
  return problems;
}

/** Creates the layout's claim stream if missing, else verifies it (STREAM_MISMATCH if it differs). */
export async function ensureClaimStream(jsm: JetStreamManager, layout: StreamLayout): Promise<StreamInfo> {
  const name = claimStream(layout);
  const check = (info: StreamInfo): StreamInfo => {
    const problems = claimMismatches(layout, info);
    if (problems.length > 0) throw new TransportError(TransportErrorCode.STREAM_MISMATCH, `stream ${name} does not match the layout: ${problems.join('; ')}`);
    return info;
  };
  const existing = await findStream(jsm, name);
  if (existing !== undefined) return check(existing);
  try {
    return await jsm.streams.add(claimStreamConfig(layout));
  } catch (err) {
    const raced = await findStream(jsm, name);
    if (raced !== undefined) return check(raced);
    throw fromNatsError(err, `create stream ${name}`);
  }
}
