// The proof service's configuration: one table of named settings, each with its env var, its flag,
// its default and its allowed range, all checked at start so that a bad setting (or a missing
// signer key) stops the process before it seals anything. docs/design/proof.md lists them.
import { resolve } from 'node:path';
import * as settings from '@cairn/config';
import type { ConfigSpec, NumberSetting, NumberKeyOf, StringKeyOf, StringSetting } from '@cairn/config';
import { shardCountMax, txLimitsDefault } from '@cairn/wire';
import { CONNECTIONS_MAX_DEFAULT } from './http.js';

export interface ProofConfig {
  readonly nats_url: string;
  // File holding the broker's client token ('' = the broker asks for none).
  readonly nats_token_file: string;
  // PEM CA file: connect to the broker over TLS, verified against it ('' = plain).
  readonly nats_ca_file: string;
  readonly host: string;
  readonly port: number;
  readonly shards: number;
  readonly stream: string;
  readonly subject_prefix: string;
  /** Stream replicas, as the ingest and shards have them: 3 in a NATS cluster. */
  readonly replicas: number;
  /** Cluster name: the checkpoint origin line and the origin inside every global state. */
  readonly origin: string;
  /** The Ed25519 signer key itself (PRIVATE+KEY+...); wins over signer_key_file. */
  readonly signer_key: string;
  readonly signer_key_file: string;
  /** '' = <cwd>/.data/proof */
  readonly data_dir: string;
  /** Access-Control-Allow-Origin on answers ('' = none): browsers run the SDK from other origins. */
  readonly cors_allow_origin: string;
  /** PEM certificate (chain) and key: HTTPS when both are set, plain HTTP when neither. */
  readonly tls_cert_file: string;
  readonly tls_key_file: string;
  readonly epoch_interval_ms: number;
  /** How long one epoch waits for every shard's headAt answer before it is abandoned. */
  readonly head_timeout_ms: number;
  /** How long one shard read (proof, record, history) may take. */
  readonly read_timeout_ms: number;
  readonly publish_timeout_ms: number;
  /** HTTP requests answered at once; more get 503 + Retry-After. */
  readonly requests_inflight_max: number;
  /** Open HTTP connections; past it new ones are closed at once, unanswered. */
  readonly connections_max: number;
  readonly retry_after_s: number;
  /** Versions one history answer may hold. */
  readonly history_versions_max: number;
  /** Records one transaction answer may hold. */
  readonly tx_records_max: number;
  /** Bytes of a key read; set it as the ingest's key_bytes_max, or keys it accepts cannot be read. */
  readonly key_bytes_max: number;
  readonly shutdown_ms_max: number;
}

export const stringSettings: readonly StringSetting<StringKeyOf<ProofConfig>>[] = [
  { key: 'nats_url', pattern: /^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, default: 'nats://127.0.0.1:4222', help: 'NATS server URL(s), comma separated' },
  { key: 'nats_token_file', pattern: /^[^\0]{0,4096}$/, default: '', help: "file holding the broker's client token ('' = none)" },
  { key: 'nats_ca_file', pattern: /^[^\0]{0,4096}$/, default: '', help: "PEM CA of the broker's certificate: TLS to NATS ('' = plain)" },
  { key: 'host', pattern: /^[A-Za-z0-9.:-]+$/, default: '127.0.0.1', help: 'HTTP listen address' },
  { key: 'stream', pattern: /^[A-Za-z0-9_-]{1,64}$/, default: 'LEDGER', help: 'JetStream stream name' },
  { key: 'subject_prefix', pattern: /^[a-z0-9_-]{1,32}(\.[a-z0-9_-]{1,32}){0,3}$/, default: 'ledger', help: 'subject prefix of the stream' },
  // A C2SP key name and origin line: printable, no spaces, no '+'.
  { key: 'origin', pattern: /^[A-Za-z0-9._:/-]{1,255}$/, default: 'cairn.local/ledger', help: 'cluster name: checkpoint origin and signer key name' },
  { key: 'signer_key', pattern: /^(PRIVATE\+KEY\+\S+)?$/, default: '', help: 'Ed25519 signer key (from cairn keygen)', secret: true },
  { key: 'signer_key_file', pattern: /^[^\0]{0,4096}$/, default: '', help: 'file holding the signer key' },
  { key: 'data_dir', pattern: /^[^\0]{0,4096}$/, default: '', help: 'state-log directory (default .data/proof)' },
  { key: 'tls_cert_file', pattern: /^[^\0]{0,4096}$/, default: '', help: 'PEM certificate: HTTPS (with tls_key_file)' },
  { key: 'tls_key_file', pattern: /^[^\0]{0,4096}$/, default: '', help: 'PEM key of tls_cert_file' },
  { key: 'cors_allow_origin', pattern: /^(\*|https?:\/\/[A-Za-z0-9.:-]+)?$/, default: '*', help: "Access-Control-Allow-Origin ('' = none)" },
];

export const numberSettings: readonly NumberSetting<NumberKeyOf<ProofConfig>>[] = [
  { key: 'port', min: 0, max: 65_535, default: 8090, help: 'HTTP port (0 = any free port)' },
  { key: 'shards', min: 1, max: shardCountMax, default: 2, help: 'shard count, fixed when the cluster is created' },
  { key: 'replicas', min: 1, max: 5, default: 1, help: 'stream replicas (3 in a NATS cluster), as the ingest and shards' },
  { key: 'epoch_interval_ms', min: 10, max: 3_600_000, default: 100, help: 'time between epoch seals' },
  { key: 'head_timeout_ms', min: 100, max: 60_000, default: 5_000, help: 'wait for every shard head of one epoch' },
  { key: 'read_timeout_ms', min: 100, max: 60_000, default: 5_000, help: 'one shard read or proof request' },
  { key: 'publish_timeout_ms', min: 100, max: 60_000, default: 5_000, help: 'marker batch publish ack' },
  { key: 'requests_inflight_max', min: 1, max: 100_000, default: 256, help: 'HTTP requests answered at once' },
  { key: 'connections_max', min: 1, max: 1_000_000, default: CONNECTIONS_MAX_DEFAULT, help: 'open HTTP connections; more are closed at once' },
  { key: 'retry_after_s', min: 1, max: 3_600, default: 1, help: 'Retry-After seconds on 503' },
  { key: 'history_versions_max', min: 1, max: 1_000_000, default: 10_000, help: 'versions in one history answer' },
  { key: 'tx_records_max', min: 1, max: 1_000_000, default: 10_000, help: 'records in one transaction answer' },
  { key: 'key_bytes_max', min: 1, max: 4_096, default: txLimitsDefault.key_bytes_max, help: "bytes of a key (as the ingest's key_bytes_max)" },
  { key: 'shutdown_ms_max', min: 0, max: 600_000, default: 10_000, help: 'graceful stop: wait for open requests' },
];

const envOverrides: Partial<Record<keyof ProofConfig, string>> = {
  port: 'CAIRN_PROOF_PORT',
  host: 'CAIRN_PROOF_HOST',
  data_dir: 'CAIRN_PROOF_DATA_DIR',
  cors_allow_origin: 'CAIRN_PROOF_CORS_ALLOW_ORIGIN',
  tls_cert_file: 'CAIRN_PROOF_TLS_CERT_FILE',
  tls_key_file: 'CAIRN_PROOF_TLS_KEY_FILE',
  // The shard has its own history_versions_max under CAIRN_HISTORY_VERSIONS_MAX.
  history_versions_max: 'CAIRN_PROOF_HISTORY_VERSIONS_MAX',
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'PROOF_CONFIG';
}

const spec: ConfigSpec<ProofConfig> = {
  strings: stringSettings,
  numbers: numberSettings,
  env_names: envOverrides,
  error: (message) => new ConfigError(message),
  digits_max: 15,
};

export function envName(key: keyof ProofConfig): string {
  return settings.envName(spec, key);
}

export function flagName(key: keyof ProofConfig): string {
  return settings.flagName(key);
}

export function configDefaults(): ProofConfig {
  return settings.configDefaults(spec);
}

/** Flags win over env vars, env vars over defaults. Flags are `--name=value` or `--name value`. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[],
  overrides: Partial<ProofConfig> = {},
): ProofConfig {
  const config = settings.readConfig(spec, env, argv, overrides);
  checkConfig(config);
  return Object.freeze(config);
}

export function checkConfig(c: ProofConfig): void {
  settings.checkSettings(spec, c);
  if (c.signer_key === '' && c.signer_key_file === '') {
    throw new ConfigError(`no signer key: set ${envName('signer_key')} or ${envName('signer_key_file')} (create one with: cairn keygen --name ${c.origin})`);
  }
}

export function dataDirOf(c: ProofConfig, cwd: string): string {
  return c.data_dir === '' ? resolve(cwd, '.data', 'proof') : resolve(cwd, c.data_dir);
}

/** The HTTPS certificate and key, read and checked at start; undefined for plain HTTP. */
export function tlsFiles(c: Pick<ProofConfig, 'tls_cert_file' | 'tls_key_file'>): settings.TlsFiles | undefined {
  return settings.readTlsFiles(c.tls_cert_file, c.tls_key_file, spec.error);
}

/** The broker token from nats_token_file, read at start; '' when the broker asks for none. */
/** The broker token and CA from nats_token_file and nats_ca_file, read and checked at start. */
export function natsAccess(c: Pick<ProofConfig, 'nats_token_file' | 'nats_ca_file'>): settings.BrokerAccess {
  return settings.readBrokerAccess(c, spec.error);
}

export function usage(): string {
  const title = 'cairn-proof: epochs, the signed global state log, and the HTTP read-and-verify API';
  return settings.usage(spec, { title, widths: [26, 28, 20], empty_default: '""' });
}
