// The shard worker's configuration: one table of named settings, each with its env var, its flag,
// its default and its allowed range, all checked at start so a bad setting stops the process before
// it consumes anything (docs/design/shard.md, "Configuration").
import { resolve } from 'node:path';
import * as settings from '@cairn/config';
import type { ConfigSpec, NumberSetting, NumberKeyOf, StringKeyOf, StringSetting } from '@cairn/config';
import { resolveLimits, type StorageLimits } from '@cairn/storage';
import { ShardError } from './errors.js';

// The ingest validates every client-facing bound; the store's own bounds only guard its format.
// They are set to the engine's maxima so that a message the ingest accepted is never refused here
// (which would reject it, on every replay, for a configuration reason).
export const storageLimitsForShard: Partial<StorageLimits> = {
  key_bytes_max: 65_535,
  tx_id_bytes_max: 65_535,
  value_bytes_max: 64 * 1024 * 1024,
  meta_bytes_max: 16 * 1024 * 1024,
  tx_records_max: 1_000_000,
  batch_txs_max: 1_000_000,
  batch_records_max: 10_000_000,
  batch_bytes_max: 1024 * 1024 * 1024,
  // The shard's own history_versions_max (at most 100,000) is passed as the page size: the store
  // must take it, or a history request without a limit would be refused as input.
  history_versions_max: 100_000,
};

export interface ShardConfig {
  readonly shard: number;
  readonly shards: number;
  readonly nats_url: string;
  // File holding the broker's client token ('' = the broker asks for none).
  readonly nats_token_file: string;
  // PEM CA file: connect to the broker over TLS, verified against it ('' = plain).
  readonly nats_ca_file: string;
  // '' = <cwd>/.data/shard-<shard>
  readonly data_dir: string;
  readonly stream: string;
  readonly subject_prefix: string;
  readonly replicas: number;
  // '' = shard-<shard>; a replay test uses another name to rebuild a shard beside the live one.
  readonly durable: string;
  // Messages the consumer hands over in one call (one JetStream pull).
  readonly fetch_msgs_max: number;
  readonly ack_wait_ms: number;
  // Delivered and not yet acknowledged messages (the server holds back beyond this).
  readonly ack_pending_max: number;
  // Messages merged into one storage append (1 = never merge), and the merged run's bounds.
  readonly merge_msgs_max: number;
  readonly merge_records_max: number;
  readonly merge_bytes_max: number;
  // Storage appends handed to the store and not yet synced: the next run is decided while the
  // previous write syncs (1 = await each append). At most the store's append_queue_max.
  readonly appends_inflight_max: number;
  // Read requests answered at once; more are refused with back-pressure.
  readonly read_inflight_max: number;
  // How long headAt(seq) waits for the shard to catch up to seq.
  readonly head_wait_ms_max: number;
  // Per-message (seq -> tree size) boundaries kept in memory for exact headAt answers.
  readonly head_boundaries_max: number;
  // Stored heads probed below seq when the boundary is not in memory (after a restart).
  readonly head_probe_max: number;
  // Versions one history() answer may hold.
  readonly history_versions_max: number;
  // Leaves one leaves() answer may hold.
  readonly leaves_max: number;
  readonly shutdown_ms_max: number;
  // host:port of the Prometheus scrape listener ('' = none; port 0 = any free port).
  readonly metrics_listen: string;
  // Open connections to that listener; past it a new one is closed unanswered.
  readonly metrics_connections_max: number;
}

const MiB = 1_048_576;
// '' or host:port, the host a name, an IPv4 address or a bracketed IPv6 address. The port's range
// is checked by parseListen.
const LISTEN_PATTERN = /^((\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,253}):[0-9]{1,5})?$/;
const PORT_MAX = 65_535;

export interface ListenAddress {
  /** Without brackets: what net.Server.listen takes. */
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
}

/** The host and port of a metrics_listen value; undefined for '' (no listener). */
export function parseListen(value: string): ListenAddress | undefined {
  if (value === '') return undefined;
  if (!LISTEN_PATTERN.test(value)) throw spec.error(`metrics_listen ${JSON.stringify(value)} is not host:port`);
  const colon = value.lastIndexOf(':');
  const port = Number(value.slice(colon + 1));
  if (port > PORT_MAX) throw spec.error(`metrics_listen port must be in [0, ${PORT_MAX}], got ${port}`);
  const host = value.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}
// 2 lets the store decide the next run while the previous write syncs (x1.2-1.7 for large appends);
// a third pays only for small ones and competes for two cores (docs/design/shard.md, "Apply loop").
export const APPENDS_INFLIGHT_MAX_DEFAULT = 2;

export const stringSettings: readonly StringSetting<StringKeyOf<ShardConfig>>[] = [
  { key: 'nats_url', pattern: /^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, default: 'nats://127.0.0.1:4222', help: 'NATS server URL(s), comma separated' },
  { key: 'nats_token_file', pattern: /^[^\0]{0,4096}$/, default: '', help: "file holding the broker's client token ('' = none)" },
  { key: 'nats_ca_file', pattern: /^[^\0]{0,4096}$/, default: '', help: "PEM CA of the broker's certificate: TLS to NATS ('' = plain)" },
  { key: 'data_dir', pattern: /^[^\0]{0,4096}$/, default: '', help: 'RocksDB directory (default .data/shard-<n>)' },
  { key: 'stream', pattern: /^[A-Za-z0-9_-]{1,64}$/, default: 'LEDGER', help: 'JetStream stream name' },
  { key: 'subject_prefix', pattern: /^[a-z0-9_-]{1,32}(\.[a-z0-9_-]{1,32}){0,3}$/, default: 'ledger', help: 'subject prefix of the stream' },
  { key: 'durable', pattern: /^([A-Za-z0-9_-]{1,64})?$/, default: '', help: 'durable consumer name (default shard-<n>)' },
  // Off by default: several shards share a host, so any fixed default port would clash (docs/design/shard.md, "Metrics").
  { key: 'metrics_listen', pattern: LISTEN_PATTERN, default: '', help: 'host:port serving GET /metrics (empty = off)' },
];

export const numberSettings: readonly NumberSetting<NumberKeyOf<ShardConfig>>[] = [
  { key: 'shard', min: 0, max: 999, default: 0, help: 'the shard this process owns' },
  { key: 'shards', min: 1, max: 1_000, default: 2, help: 'shard count, fixed when the cluster is created' },
  { key: 'replicas', min: 1, max: 5, default: 1, help: 'stream replicas (3 in a NATS cluster)' },
  { key: 'fetch_msgs_max', min: 1, max: 10_000, default: 64, help: 'messages per consumer pull' },
  { key: 'ack_wait_ms', min: 1_000, max: 3_600_000, default: 30_000, help: 'redelivery after this without an ack' },
  { key: 'ack_pending_max', min: 1, max: 100_000, default: 1_024, help: 'delivered, unacknowledged messages' },
  { key: 'merge_msgs_max', min: 1, max: 10_000, default: 64, help: 'messages merged into one storage append (1 = no merging)' },
  { key: 'merge_records_max', min: 1, max: 1_000_000, default: 100_000, help: 'records of one merged append' },
  { key: 'merge_bytes_max', min: 1_024, max: 512 * MiB, default: 32 * MiB, help: 'message bytes of one merged append' },
  { key: 'appends_inflight_max', min: 1, max: 64, default: APPENDS_INFLIGHT_MAX_DEFAULT, help: 'storage appends in flight (1 = one at a time)' },
  { key: 'read_inflight_max', min: 1, max: 10_000, default: 64, help: 'read requests answered at once' },
  { key: 'head_wait_ms_max', min: 0, max: 60_000, default: 5_000, help: 'how long headAt waits for the shard to reach a sequence' },
  { key: 'head_boundaries_max', min: 16, max: 10_000_000, default: 65_536, help: 'per-message heads kept in memory' },
  { key: 'head_probe_max', min: 1, max: 100_000, default: 1_024, help: 'stored heads probed below a sequence after a restart' },
  { key: 'history_versions_max', min: 1, max: 100_000, default: 1_000, help: 'versions in one history answer' },
  { key: 'leaves_max', min: 1, max: 100_000, default: 1_000, help: 'leaves in one leaves answer' },
  { key: 'shutdown_ms_max', min: 0, max: 600_000, default: 10_000, help: 'how long a graceful stop waits' },
  { key: 'metrics_connections_max', min: 1, max: 1_000, default: 16, help: 'open connections to the metrics listener' },
];

// The cluster-wide names (CAIRN_SHARDS, CAIRN_NATS_URL, ...) match the ingest's so one environment
// configures both; the rest follow CAIRN_<KEY>, with a SHARD_ infix where a name would be ambiguous.
const envOverrides: Partial<Record<keyof ShardConfig, string>> = {
  durable: 'CAIRN_SHARD_DURABLE',
  fetch_msgs_max: 'CAIRN_SHARD_FETCH_MSGS_MAX',
  read_inflight_max: 'CAIRN_SHARD_READ_INFLIGHT_MAX',
  appends_inflight_max: 'CAIRN_SHARD_APPENDS_INFLIGHT_MAX',
  shutdown_ms_max: 'CAIRN_SHARD_SHUTDOWN_MS_MAX',
  metrics_listen: 'CAIRN_SHARD_METRICS_LISTEN',
  metrics_connections_max: 'CAIRN_SHARD_METRICS_CONNECTIONS_MAX',
};

const spec: ConfigSpec<ShardConfig> = {
  strings: stringSettings,
  numbers: numberSettings,
  env_names: envOverrides,
  error: (message) => new ShardError('SHARD_CONFIG', `config: ${message}`),
};

export function envName(key: keyof ShardConfig): string {
  return settings.envName(spec, key);
}

export function flagName(key: keyof ShardConfig): string {
  return settings.flagName(key);
}

export function configDefaults(): ShardConfig {
  return settings.configDefaults(spec);
}

// Flags win over env vars, env vars over defaults. Flags are `--name=value` or `--name value`.
export function loadConfig(env: Readonly<Record<string, string | undefined>>, argv: readonly string[], overrides: Partial<ShardConfig> = {}): ShardConfig {
  const config = settings.readConfig(spec, env, argv, overrides);
  checkConfig(config);
  return Object.freeze(resolveDefaults(config));
}

function resolveDefaults(c: ShardConfig): ShardConfig {
  return {
    ...c,
    data_dir: resolve(c.data_dir === '' ? `.data/shard-${c.shard}` : c.data_dir),
    durable: c.durable === '' ? `shard-${c.shard}` : c.durable,
  };
}

export function checkConfig(c: ShardConfig): void {
  settings.checkSettings(spec, c);
  // Relations between bounds: each would otherwise fail later, under load.
  if (c.shard >= c.shards) throw spec.error(`shard ${c.shard} is not below shards ${c.shards}`);
  if (c.ack_pending_max < c.fetch_msgs_max) throw spec.error('ack_pending_max must be >= fetch_msgs_max (one pull must fit the unacked window)');
  if (c.merge_msgs_max > c.fetch_msgs_max) throw spec.error('merge_msgs_max must be <= fetch_msgs_max (a merge never spans two pulls)');
  // More would make the store push back (STORAGE_BUSY), which stops the shard.
  const queueMax = resolveLimits(storageLimitsForShard).append_queue_max;
  if (c.appends_inflight_max > queueMax) throw spec.error(`appends_inflight_max must be <= the store's append_queue_max (${queueMax})`);
  parseListen(c.metrics_listen);
}

/** The broker token from nats_token_file, read at start; '' when the broker asks for none. */
/** The broker token and CA from nats_token_file and nats_ca_file, read and checked at start. */
export function natsAccess(c: Pick<ShardConfig, 'nats_token_file' | 'nats_ca_file'>): settings.BrokerAccess {
  return settings.readBrokerAccess(c, spec.error);
}

export function usage(): string {
  return settings.usage(spec, { title: 'cairn-shard: one shard worker', widths: [24, 32, 22] });
}
