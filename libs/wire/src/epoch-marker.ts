// The epoch marker: the message the proof service puts on every shard subject, all in one JetStream
// atomic batch, to seal an epoch. Atomic batches take contiguous stream sequences and never
// interleave, so "every message with stream sequence <= the batch's last" is the same cut on every
// shard. A shard applies a marker as a message with no transactions: it only advances the shard's
// applied sequence and records the head at that sequence (docs/design/shard.md, "Epochs").
//
// Layout (big-endian, kind byte 3 of the wireKind registry):
//   u8 version, u8 kind=3, u32 shard, u32 shard_count, u64 epoch
// The shard and shard count let a shard refuse a marker addressed to another layout rather than
// seal a cut the proof service did not mean.
import { CairnError } from './errors.js';
import { wireVersion } from './shard-message.js';

// The wireKind registry (shard-message.ts) reserves 3 for this message.
export const epochMarkerKind = 3;

export const epochMarkerBytes = 1 + 1 + 4 + 4 + 8;

export interface EpochMarker {
  readonly shard: number;
  readonly shardCount: number;
  // Chosen by the proof service; increases by one per sealed epoch. Never from a clock.
  readonly epoch: number;
}

const u32Max = 4_294_967_295;
const twoPow32 = 4_294_967_296;

function checkMarker(m: EpochMarker): void {
  if (!Number.isSafeInteger(m.shardCount) || m.shardCount < 1 || m.shardCount > u32Max) {
    throw new RangeError(`shardCount must be 1..${u32Max}, got ${m.shardCount}`);
  }
  if (!Number.isSafeInteger(m.shard) || m.shard < 0 || m.shard >= m.shardCount) {
    throw new RangeError(`shard must be 0..${m.shardCount - 1}, got ${m.shard}`);
  }
  if (!Number.isSafeInteger(m.epoch) || m.epoch < 0) throw new RangeError(`epoch must be a safe non-negative integer, got ${m.epoch}`);
}

export function encodeEpochMarker(marker: EpochMarker): Uint8Array {
  checkMarker(marker);
  const out = new Uint8Array(epochMarkerBytes);
  const view = new DataView(out.buffer);
  view.setUint8(0, wireVersion);
  view.setUint8(1, epochMarkerKind);
  view.setUint32(2, marker.shard);
  view.setUint32(6, marker.shardCount);
  view.setUint32(10, Math.floor(marker.epoch / twoPow32));
  view.setUint32(14, marker.epoch % twoPow32);
  return out;
}

export function decodeEpochMarker(bytes: Uint8Array): EpochMarker {
  const kind = messageKind(bytes);
  if (kind !== epochMarkerKind) throw new CairnError('wire_malformed', `kind ${kind} is not an epoch marker`);
  if (bytes.length < epochMarkerBytes) throw new CairnError('wire_truncated', `epoch marker needs ${epochMarkerBytes} bytes, got ${bytes.length}`);
  if (bytes.length > epochMarkerBytes) throw new CairnError('wire_malformed', `${bytes.length - epochMarkerBytes} trailing bytes after epoch marker`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shard = view.getUint32(2);
  const shardCount = view.getUint32(6);
  const hi = view.getUint32(10);
  if (hi > 0x1f_ffff) throw new CairnError('wire_malformed', 'epoch exceeds 2^53-1');
  const epoch = hi * twoPow32 + view.getUint32(14);
  if (shardCount < 1 || shard >= shardCount) throw new CairnError('wire_malformed', `shard ${shard} of ${shardCount}`);
  return { shard, shardCount, epoch };
}

// The kind byte of a message on a shard subject, after checking the version byte, so a reader can
// pick the decoder (a shard message and an epoch marker share the subject).
export function messageKind(bytes: Uint8Array): number {
  if (bytes.length < 2) throw new CairnError('wire_truncated', `message of ${bytes.length} bytes has no header`);
  const version = bytes[0] as number;
  if (version !== wireVersion) throw new CairnError('wire_version', `message version ${version}, this code reads ${wireVersion}`);
  return bytes[1] as number;
}
