// The ingest's configuration: one table of named settings, each with its env var, its flag, its
// default and its allowed range. Everything is checked at start so a bad setting stops the
// process before it takes traffic, never halfway through a flush. Documented in docs/design/ingest.md.
import * as settings from '@cairn/config';
import type { ConfigSpec, NumberSetting, NumberKeyOf, StringKeyOf, StringSetting } from '@cairn/config';
import { CairnError, txLimitsDefault, shardCountMax, type TxLimits } from '@cairn/wire';

export interface IngestConfig extends TxLimits {
  readonly nats_url: string;
  // File holding the broker's client token ('' = the broker asks for none).
  readonly nats_token_file: string;
  // PEM CA file: connect to the broker over TLS, verified against it ('' = plain).
  readonly nats_ca_file: string;
  readonly host: string;
  // Extra names the gateway answers for in the Host header, comma separated (see allowedHosts).
  readonly allowed_hosts: string;
  // JSON file of API keys (auth.ts); '' = none.
  readonly api_keys_file: string;
  // 'api_keys', 'none', or '' = api_keys when a file is given, none on a loopback host, else refused.
  readonly auth: string;
  // PEM certificate (chain) and key: HTTPS when both are set, plain HTTP when neither.
  readonly tls_cert_file: string;
  readonly tls_key_file: string;
  readonly port: number;
  readonly shards: number;
  // Gateway processes sharing the HTTP port (node:cluster); each has its own NATS connection and session.
  readonly workers: number;
  readonly stream: string;
  readonly subject_prefix: string;
  readonly replicas: number;
  // Flush when this many transactions wait, or when the oldest waited this long.
  readonly batch_txs_max: number;
  readonly batch_age_ms_max: number;
  // Bytes of one shard message (one per shard per flush); at most the broker's max_payload.
  readonly message_bytes_max: number;
  // Atomic batches published and not yet acknowledged by the broker (the server allows ~50 per stream).
  readonly flushes_inflight_max: number;
  // Transactions admitted and not yet in a flush.
  readonly pending_txs_max: number;
  // Transactions admitted and not yet answered (pending + published and awaiting commit events).
  readonly waiters_max: number;
  // The same, per API key: one key's share of the gateway (shares.ts). Not used without keys.
  readonly api_key_waiters_max: number;
  // Key, value and meta bytes those waiters hold in memory until they are answered.
  readonly waiter_bytes_max: number;
  readonly commit_wait_ms_max: number;
  readonly publish_timeout_ms: number;
  readonly body_bytes_max: number;
  // Request bytes held in memory at once, across all connections.
  readonly body_bytes_inflight_max: number;
  // Open HTTP connections (per gateway process); past it new sockets are closed unanswered.
  readonly connections_max: number;
  readonly retry_after_s: number;
  readonly shutdown_ms_max: number;
}

const MiB = 1_048_576;

export const stringSettings: readonly StringSetting<StringKeyOf<IngestConfig>>[] = [
  { key: 'nats_url', pattern: /^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, default: 'nats://127.0.0.1:4222', help: 'NATS server URL(s), comma separated' },
  { key: 'nats_token_file', pattern: /^[^\0]{0,4096}$/, default: '', help: "file holding the broker's client token ('' = none)" },
  { key: 'nats_ca_file', pattern: /^[^\0]{0,4096}$/, default: '', help: "PEM CA of the broker's certificate: TLS to NATS ('' = plain)" },
  { key: 'host', pattern: /^[A-Za-z0-9.:-]+$/, default: '127.0.0.1', help: 'HTTP listen address' },
  { key: 'allowed_hosts', pattern: /^[A-Za-z0-9._:[\], -]{0,4096}$/, default: '', help: 'Host header names answered, comma separated (+ localhost, --host)' },
  { key: 'api_keys_file', pattern: /^[^\0]{0,4096}$/, default: '', help: 'JSON file of API keys (token digests and their hash tags)' },
  { key: 'auth', pattern: /^(api_keys|none)?$/, default: '', help: "api_keys | none ('' = api_keys with a keys file, none on loopback)" },
  { key: 'tls_cert_file', pattern: /^[^\0]{0,4096}$/, default: '', help: 'PEM certificate: HTTPS (with tls_key_file)' },
  { key: 'tls_key_file', pattern: /^[^\0]{0,4096}$/, default: '', help: 'PEM key of tls_cert_file' },
  { key: 'stream', pattern: /^[A-Za-z0-9_-]{1,64}$/, default: 'LEDGER', help: 'JetStream stream name' },
  { key: 'subject_prefix', pattern: /^[a-z0-9_-]{1,32}(\.[a-z0-9_-]{1,32}){0,3}$/, default: 'ledger', help: 'subject prefix of the stream' },
];

export const numberSettings: readonly NumberSetting<NumberKeyOf<IngestConfig>>[] = [
  { key: 'port', min: 0, max: 65_535, default: 8080, help: 'HTTP port (0 = any free port)' },
  { key: 'shards', min: 1, max: shardCountMax, default: 2, help: 'shard count, fixed when the cluster is created' },
  { key: 'replicas', min: 1, max: 5, default: 1, help: 'stream replicas (3 in a NATS cluster)' },
  { key: 'workers', min: 1, max: 64, default: 1, help: 'gateway processes sharing the port' },
  { key: 'batch_txs_max', min: 1, max: 100_000, default: 2_000, help: 'transactions per flush' },
  { key: 'batch_age_ms_max', min: 0, max: 1_000, default: 2, help: 'oldest waiting transaction age that forces a flush' },
  // 1 KiB under the broker's default max_payload (1 MiB): the publish headers count against it too.
  { key: 'message_bytes_max', min: 64 * 1024, max: 64 * MiB, default: MiB - 1024, help: 'bytes of one shard message (<= broker max_payload - 512 for headers)' },
  { key: 'flushes_inflight_max', min: 1, max: 50, default: 16, help: 'atomic batches awaiting the broker ack' },
  { key: 'pending_txs_max', min: 1, max: 10_000_000, default: 50_000, help: 'admitted transactions not yet flushed' },
  { key: 'waiters_max', min: 1, max: 10_000_000, default: 200_000, help: 'admitted transactions not yet answered' },
  { key: 'api_key_waiters_max', min: 1, max: 10_000_000, default: 25_000, help: 'admitted transactions not yet answered, per API key (<= pending_txs_max / 2)' },
  { key: 'waiter_bytes_max', min: MiB, max: 64 * 1024 * MiB, default: 1_024 * MiB, help: 'key+value+meta bytes held by admitted transactions not yet answered' },
  { key: 'commit_wait_ms_max', min: 100, max: 600_000, default: 10_000, help: 'how long a request waits for its commit events' },
  { key: 'publish_timeout_ms', min: 100, max: 60_000, default: 5_000, help: 'how long a flush waits for the broker ack' },
  { key: 'body_bytes_max', min: 1_024, max: 256 * MiB, default: 8 * MiB, help: 'bytes of one HTTP request body' },
  { key: 'body_bytes_inflight_max', min: 1_024, max: 4_096 * MiB, default: 256 * MiB, help: 'request bytes held at once, all connections' },
  { key: 'connections_max', min: 1, max: 1_000_000, default: 1_000, help: 'open HTTP connections per process; more are closed at once' },
  { key: 'retry_after_s', min: 1, max: 3_600, default: 1, help: 'Retry-After seconds on 503' },
  { key: 'shutdown_ms_max', min: 0, max: 600_000, default: 10_000, help: 'how long a graceful stop waits for open requests' },
  { key: 'id_bytes_max', min: 16, max: 128, default: txLimitsDefault.id_bytes_max, help: 'bytes of a client transaction id' },
  { key: 'key_bytes_max', min: 1, max: 4_096, default: txLimitsDefault.key_bytes_max, help: 'bytes of a key' },
  { key: 'value_bytes_max', min: 1, max: 16 * MiB, default: txLimitsDefault.value_bytes_max, help: 'bytes of a canonical value' },
  { key: 'meta_bytes_max', min: 2, max: MiB, default: txLimitsDefault.meta_bytes_max, help: 'bytes of canonical meta' },
  { key: 'tx_records_max', min: 1, max: 100_000, default: txLimitsDefault.tx_records_max, help: 'records of one transaction' },
  { key: 'tx_bytes_max', min: 1, max: 64 * MiB, default: txLimitsDefault.tx_bytes_max, help: 'key+value+meta bytes of one transaction' },
  { key: 'json_depth_max', min: 1, max: 256, default: txLimitsDefault.json_depth_max, help: 'nesting depth of values and meta' },
  { key: 'request_txs_max', min: 1, max: 100_000, default: txLimitsDefault.request_txs_max, help: 'transactions of one batch request' },
];

// CAIRN_INGEST_PORT keeps the name the cluster scripts use; the rest follow CAIRN_<KEY>.
const envOverrides: Partial<Record<keyof IngestConfig, string>> = {
  port: 'CAIRN_INGEST_PORT',
  host: 'CAIRN_INGEST_HOST',
  allowed_hosts: 'CAIRN_INGEST_ALLOWED_HOSTS',
  workers: 'CAIRN_INGEST_WORKERS',
  api_keys_file: 'CAIRN_INGEST_API_KEYS_FILE',
  auth: 'CAIRN_INGEST_AUTH',
  tls_cert_file: 'CAIRN_INGEST_TLS_CERT_FILE',
  tls_key_file: 'CAIRN_INGEST_TLS_KEY_FILE',
};

const spec: ConfigSpec<IngestConfig> = {
  strings: stringSettings,
  numbers: numberSettings,
  env_names: envOverrides,
  error: (message) => new CairnError('internal', `config: ${message}`),
};

export function envName(key: keyof IngestConfig): string {
  return settings.envName(spec, key);
}

export function flagName(key: keyof IngestConfig): string {
  return settings.flagName(key);
}

export function configDefaults(): IngestConfig {
  return settings.configDefaults(spec);
}

// Flags win over env vars, env vars over defaults. Flags are `--name=value` or `--name value`.
export function loadConfig(env: Readonly<Record<string, string | undefined>>, argv: readonly string[], overrides: Partial<IngestConfig> = {}): IngestConfig {
  const config = settings.readConfig(spec, env, argv, overrides);
  checkConfig(config);
  return Object.freeze(config);
}

export function checkConfig(c: IngestConfig): void {
  settings.checkSettings(spec, c);
  // Relations between bounds: each would otherwise fail later, under load.
  // 18 bytes a record: the larger of a record's framing in the shard message (7) and in the commit
  // event that answers it (18: a key's length, version and leaf index). A transaction's event must
  // fit one message too, or the shard could not announce it (it splits events by transaction).
  if (c.tx_bytes_max + 64 * 1024 + 18 * c.tx_records_max > c.message_bytes_max) {
    throw spec.error('tx_bytes_max plus per-record framing must fit in message_bytes_max: one transaction, and its commit event, must fit one shard message');
  }
  if (c.pending_txs_max > c.waiters_max) throw spec.error('pending_txs_max must be <= waiters_max (pending transactions are waiters too)');
  if (c.request_txs_max > c.pending_txs_max) throw spec.error('request_txs_max must be <= pending_txs_max or a full batch could never be admitted');
  if (c.body_bytes_max > c.waiter_bytes_max) throw spec.error('body_bytes_max must be <= waiter_bytes_max or a full request could never be admitted');
  if (authMode(c) === 'api_keys') {
    if (c.request_txs_max > c.api_key_waiters_max) throw spec.error('request_txs_max must be <= api_key_waiters_max or a full batch could never be admitted for a key');
    // Else one key could fill the queue of transactions not yet flushed, and every key would wait.
    if (2 * c.api_key_waiters_max > c.pending_txs_max) throw spec.error('api_key_waiters_max must be <= pending_txs_max / 2: one key may take at most half the queue');
  }
  if (c.value_bytes_max > c.tx_bytes_max) throw spec.error('value_bytes_max must be <= tx_bytes_max');
  if (c.body_bytes_max > c.body_bytes_inflight_max) throw spec.error('body_bytes_max must be <= body_bytes_inflight_max');
  allowedHosts(c);
  authMode(c);
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Whether writes need an API key. A gateway that listens beyond loopback without keys is refused
 * unless auth=none says so on purpose: anyone who reaches it could write under every shop's tags.
 */
export function authMode(c: Pick<IngestConfig, 'host' | 'api_keys_file' | 'auth'>): 'api_keys' | 'none' {
  const file = c.api_keys_file !== '';
  if (c.auth === 'none' && file) throw spec.error('auth=none contradicts api_keys_file: drop one');
  if (c.auth === 'api_keys' && !file) throw spec.error('auth=api_keys needs api_keys_file');
  if (c.auth === 'none') return 'none';
  if (file) return 'api_keys';
  const host = canonicalHost(c.host);
  if (host !== undefined && loopbackHosts.has(host)) return 'none';
  throw spec.error(`host ${c.host} is not loopback: set api_keys_file (${envName('api_keys_file')}), or auth=none (${envName('auth')}) to let anyone who reaches it write`);
}

// Names every gateway answers for: a browser on this machine reaches it by one of these, and no
// page can rebind its own domain to one of them (a page's Host is always its own domain).
export const allowed_hosts_builtin: readonly string[] = ['127.0.0.1', 'localhost', '::1'];
export const allowed_hosts_count_max = 256;
const host_name_bytes_max = 253;

// The Host header names the gateway answers for: the built-in loopback names, the listen address
// and allowed_hosts, each in canonical form (canonicalHost). Throws on an entry that names no host.
export function allowedHosts(c: Pick<IngestConfig, 'host' | 'allowed_hosts'>): ReadonlySet<string> {
  const entries = c.allowed_hosts.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (entries.length > allowed_hosts_count_max) throw spec.error(`allowed_hosts lists ${entries.length} names, at most ${allowed_hosts_count_max}`);
  const out = new Set<string>();
  for (const entry of [...allowed_hosts_builtin, c.host, ...entries]) {
    const name = canonicalHost(entry);
    if (name === undefined) throw spec.error(`allowed_hosts: ${JSON.stringify(entry)} is not a host name or IP address`);
    out.add(name);
  }
  return out;
}

// One spelling per host, as a browser sends it: lower case, no trailing root dot, IPv6 without
// brackets in the WHATWG URL serialisation ("0:0::1" -> "::1"). undefined: not a host.
export function canonicalHost(name: string): string | undefined {
  let s = name.toLowerCase();
  const bracketed = s.startsWith('[') && s.endsWith(']');
  if (bracketed) s = s.slice(1, -1);
  if (bracketed || s.includes(':')) return canonicalIpv6(s);
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s.length > host_name_bytes_max || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(s)) return undefined;
  return s;
}

function canonicalIpv6(s: string): string | undefined {
  // Zone ids ("%eth0") and anything but hex, ':' and a dotted IPv4 tail are refused outright.
  if (s.length > 45 || !/^[0-9a-f:.]+$/.test(s)) return undefined;
  try {
    return new URL(`http://[${s}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** The HTTPS certificate and key, read and checked at start; undefined for plain HTTP. */
export function tlsFiles(c: Pick<IngestConfig, 'tls_cert_file' | 'tls_key_file'>): settings.TlsFiles | undefined {
  return settings.readTlsFiles(c.tls_cert_file, c.tls_key_file, spec.error);
}

/** The broker token from nats_token_file, read at start; '' when the broker asks for none. */
/** The broker token and CA from nats_token_file and nats_ca_file, read and checked at start. */
export function natsAccess(c: Pick<IngestConfig, 'nats_token_file' | 'nats_ca_file'>): settings.BrokerAccess {
  return settings.readBrokerAccess(c, spec.error);
}

export function usage(): string {
  return settings.usage(spec, { title: 'cairn-ingest: the HTTP write gateway', widths: [24, 28, 22] });
}
