// The load tool's options: named defaults, named limits, each option from a flag or its env
// variable (flag wins), all checked before any request is sent. Both URLs must be loopback: this
// tool writes thousands of transactions and must never be pointed at someone else's ledger.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoadError } from './errors.js';

export const SCENARIOS = ['checkout', 'nft'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface LoadOptions {
  readonly scenarios: readonly ScenarioName[];
  readonly ingest_url: string;
  readonly proof_url: string;
  readonly verifier_key: string;
  readonly origin: string;
  /** The gateway's API key, sent with every write when set (a gateway with keys answers 401 without). */
  readonly api_key?: string;
  /** The load phase of each scenario ends at this duration or at requests_max, whichever is first. */
  readonly duration_ms: number;
  /** HTTP requests of one scenario's load phase, retries included. */
  readonly requests_max: number;
  /** Closed-loop clients: each sends its next request when its previous one is answered. */
  readonly clients: number;
  /** Prefix of every key and id, so runs against a long-lived cluster never meet each other's keys. */
  readonly run_id: string;
  readonly seed: number;
  /** Shard count of the cluster, a hint to spread shops and tokens over the shards. */
  readonly shards: number;
  /** checkout: shops (one hash tag each) and hot SKUs per shop. */
  readonly shops: number;
  readonly skus_per_shop: number;
  readonly stock_initial: number;
  /** nft: tokens the buyers race for. */
  readonly tokens: number;
  /** checkout: new attempts (new version read, new id) after precondition_failed. */
  readonly precondition_retries_max: number;
  /** Same-id resends after 503/504/500 or a lost connection. */
  readonly uncertain_retries_max: number;
  readonly request_ms_max: number;
  /** Acknowledgements proven at once by the checker. */
  readonly check_concurrency: number;
  /** How long the checker waits for a signed state that covers a receipt. */
  readonly receipt_wait_ms_max: number;
  /** Also measure the same generator against a bare node:http server (the baseline). */
  readonly baseline: boolean;
}

/** Hard limits on the options: every loop of the tool is bounded by them. */
export const LOAD_LIMITS = {
  clients_max: 1_000,
  duration_ms_max: 3_600_000,
  requests_max: 10_000_000,
  shards_max: 64,
  shops_max: 1_000,
  skus_per_shop_max: 100,
  tokens_max: 10_000,
  retries_max: 100,
  request_ms_max: 120_000,
  check_concurrency_max: 64,
  receipt_wait_ms_max: 300_000,
  run_id_chars_max: 32,
} as const;

/** Units taken from stock by one checkout: 1..UNITS_PER_ORDER_MAX. */
export const UNITS_PER_ORDER_MAX = 3;

export const LOAD_DEFAULTS = {
  ingest_url: 'http://127.0.0.1:8080',
  proof_url: 'http://127.0.0.1:8090',
  origin: 'cairn.local/ledger',
  duration_ms: 10_000,
  requests_max: 100_000,
  clients: 16,
  seed: 1,
  shards: 2,
  shops: 4,
  skus_per_shop: 3,
  stock_initial: 1_000_000_000,
  tokens: 4,
  precondition_retries_max: 8,
  uncertain_retries_max: 5,
  request_ms_max: 30_000,
  check_concurrency: 8,
  receipt_wait_ms_max: 30_000,
} as const;

interface Flag {
  readonly name: string;
  readonly env: string;
  readonly help: string;
  readonly boolean?: true;
}

export const FLAGS: readonly Flag[] = [
  { name: 'scenario', env: 'CAIRN_LOAD_SCENARIO', help: 'checkout, nft or all (default all)' },
  { name: 'ingest-url', env: 'CAIRN_LOAD_INGEST_URL', help: `ingest gateway, loopback only (${LOAD_DEFAULTS.ingest_url})` },
  { name: 'proof-url', env: 'CAIRN_LOAD_PROOF_URL', help: `proof service, loopback only (${LOAD_DEFAULTS.proof_url})` },
  { name: 'verifier-key', env: 'CAIRN_LOAD_VERIFIER_KEY', help: 'pinned verifier key (default: the file below)' },
  { name: 'verifier-key-file', env: 'CAIRN_LOAD_VERIFIER_KEY_FILE', help: 'file holding it (default: .data/signer.pub of `npm start`)' },
  { name: 'origin', env: 'CAIRN_LOAD_ORIGIN', help: `checkpoint origin (${LOAD_DEFAULTS.origin})` },
  { name: 'api-key', env: 'CAIRN_LOAD_API_KEY', help: 'API key for a gateway that holds keys (cairn-ingest apikey)' },
  { name: 'duration-ms', env: 'CAIRN_LOAD_DURATION_MS', help: `load phase per scenario (${LOAD_DEFAULTS.duration_ms})` },
  { name: 'requests-max', env: 'CAIRN_LOAD_REQUESTS_MAX', help: `HTTP requests per load phase (${LOAD_DEFAULTS.requests_max})` },
  { name: 'clients', env: 'CAIRN_LOAD_CLIENTS', help: `concurrent closed-loop clients (${LOAD_DEFAULTS.clients})` },
  { name: 'run-id', env: 'CAIRN_LOAD_RUN_ID', help: 'prefix of keys and ids (default: new each run)' },
  { name: 'seed', env: 'CAIRN_LOAD_SEED', help: `choices of shops, SKUs, units, tokens (${LOAD_DEFAULTS.seed})` },
  { name: 'shards', env: 'CAIRN_LOAD_SHARDS', help: `cluster's shard count, to spread the load (${LOAD_DEFAULTS.shards}, as npm start)` },
  { name: 'shops', env: 'CAIRN_LOAD_SHOPS', help: `checkout: shops (${LOAD_DEFAULTS.shops})` },
  { name: 'skus', env: 'CAIRN_LOAD_SKUS', help: `checkout: hot SKUs per shop (${LOAD_DEFAULTS.skus_per_shop})` },
  { name: 'tokens', env: 'CAIRN_LOAD_TOKENS', help: `nft: tokens raced for (${LOAD_DEFAULTS.tokens})` },
  { name: 'check-concurrency', env: 'CAIRN_LOAD_CHECK_CONCURRENCY', help: `receipts proven at once (${LOAD_DEFAULTS.check_concurrency})` },
  { name: 'baseline', env: 'CAIRN_LOAD_BASELINE', help: 'also run the generator against a bare node:http server', boolean: true },
];

const RUN_ID = /^[A-Za-z0-9-]+$/;

/** The repository's `.data/signer.pub`, written by `npm start` on its first run. */
export function startVerifierKeyFile(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '.data', 'signer.pub');
}

/** Throws LoadError('not_loopback') unless `url` is http:// on 127.0.0.0/8, ::1 or localhost. */
export function assertLoopback(url: string, what: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new LoadError('bad_option', `${what} is not a URL: ${JSON.stringify(url)}`, { cause });
  }
  if (parsed.protocol !== 'http:') throw new LoadError('not_loopback', `${what} must be http:// on a loopback address, got ${url}`);
  const host = parsed.hostname;
  const loopback = host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!loopback) throw new LoadError('not_loopback', `${what} must be a loopback address (127.0.0.1, [::1], localhost); ${host} is not: this tool writes load and is only for local clusters`);
  return parsed.origin;
}

type Raw = Map<string, string>;

function readRaw(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Raw {
  const raw: Raw = new Map();
  for (const flag of FLAGS) {
    const value = env[flag.env];
    if (value !== undefined && value !== '') raw.set(flag.name, value);
  }
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const name = (eq < 0 ? arg : arg.slice(0, eq)).replace(/^--/, '');
    const flag = FLAGS.find((f) => f.name === name);
    if (!arg.startsWith('--') || flag === undefined) throw new LoadError('bad_option', `unknown option ${arg}`);
    if (flag.boolean === true && eq < 0) {
      raw.set(name, 'true');
      continue;
    }
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new LoadError('bad_option', `--${name} needs a value`);
    raw.set(name, value);
  }
  return raw;
}

function int(raw: Raw, name: string, fallback: number, min: number, max: number): number {
  const text = raw.get(name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) throw new LoadError('bad_option', `--${name} must be an integer ${min}..${max}, got ${JSON.stringify(text)}`);
  return n;
}

function scenariosOf(text: string | undefined): ScenarioName[] {
  if (text === undefined || text === 'all') return [...SCENARIOS];
  const names = text.split(',');
  for (const name of names) if (!(SCENARIOS as readonly string[]).includes(name)) throw new LoadError('bad_option', `--scenario must be ${SCENARIOS.join(', ')} or all, got ${JSON.stringify(name)}`);
  return names as ScenarioName[];
}

function verifierKeyOf(raw: Raw): string {
  const given = raw.get('verifier-key');
  if (given !== undefined) return given.trim();
  const file = raw.get('verifier-key-file') ?? startVerifierKeyFile();
  if (!existsSync(file)) throw new LoadError('bad_option', `no verifier key: pass --verifier-key, or --verifier-key-file (${file} does not exist; \`npm start\` writes it)`);
  return readFileSync(file, 'utf8').trim();
}

function booleanOf(raw: Raw, name: string): boolean {
  const text = raw.get(name);
  if (text === undefined || text === '0' || text === 'false') return false;
  if (text === '1' || text === 'true') return true;
  throw new LoadError('bad_option', `--${name} is a switch (env: 1/true/0/false), got ${JSON.stringify(text)}`);
}

/** Options from flags and env; `now_ms` names the run when no --run-id is given. */
export function parseOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, now_ms: number): LoadOptions {
  const raw = readRaw(argv, env);
  const d = LOAD_DEFAULTS;
  const L = LOAD_LIMITS;
  const runId = raw.get('run-id') ?? `lt${now_ms.toString(36)}`;
  if (!RUN_ID.test(runId) || runId.length > L.run_id_chars_max) throw new LoadError('bad_option', `--run-id must be 1..${L.run_id_chars_max} of A-Z a-z 0-9 -, got ${JSON.stringify(runId)}`);
  const options: LoadOptions = {
    scenarios: scenariosOf(raw.get('scenario')),
    ingest_url: assertLoopback(raw.get('ingest-url') ?? d.ingest_url, '--ingest-url'),
    proof_url: assertLoopback(raw.get('proof-url') ?? d.proof_url, '--proof-url'),
    verifier_key: verifierKeyOf(raw),
    origin: raw.get('origin') ?? d.origin,
    ...apiKeyOf(raw.get('api-key')),
    duration_ms: int(raw, 'duration-ms', d.duration_ms, 1, L.duration_ms_max),
    requests_max: int(raw, 'requests-max', d.requests_max, 1, L.requests_max),
    clients: int(raw, 'clients', d.clients, 1, L.clients_max),
    run_id: runId,
    seed: int(raw, 'seed', d.seed, 0, 2 ** 32 - 1),
    shards: int(raw, 'shards', d.shards, 1, L.shards_max),
    shops: int(raw, 'shops', d.shops, 1, L.shops_max),
    skus_per_shop: int(raw, 'skus', d.skus_per_shop, 1, L.skus_per_shop_max),
    stock_initial: d.stock_initial,
    tokens: int(raw, 'tokens', d.tokens, 1, L.tokens_max),
    precondition_retries_max: d.precondition_retries_max,
    uncertain_retries_max: d.uncertain_retries_max,
    request_ms_max: d.request_ms_max,
    check_concurrency: int(raw, 'check-concurrency', d.check_concurrency, 1, L.check_concurrency_max),
    receipt_wait_ms_max: d.receipt_wait_ms_max,
    baseline: booleanOf(raw, 'baseline'),
  };
  return checkOptions(options);
}

const API_KEY = /^[A-Za-z0-9._~+/-]{32,256}=*$/;

function apiKeyOf(value: string | undefined): { api_key?: string } {
  if (value === undefined) return {};
  if (!API_KEY.test(value)) throw new LoadError('bad_option', '--api-key must be an API key token (cairn-ingest apikey)');
  return { api_key: value };
}

/** Checks options built in code (tests) the same way as parsed ones. */
export function checkOptions(o: LoadOptions): LoadOptions {
  const L = LOAD_LIMITS;
  const within = (name: string, value: number, min: number, max: number): void => {
    if (!Number.isSafeInteger(value) || value < min || value > max) throw new LoadError('bad_option', `${name} must be an integer ${min}..${max}, got ${value}`);
  };
  assertLoopback(o.ingest_url, 'ingest_url');
  assertLoopback(o.proof_url, 'proof_url');
  if (o.scenarios.length === 0) throw new LoadError('bad_option', 'no scenario to run');
  within('duration_ms', o.duration_ms, 1, L.duration_ms_max);
  within('requests_max', o.requests_max, 1, L.requests_max);
  within('clients', o.clients, 1, L.clients_max);
  within('shards', o.shards, 1, L.shards_max);
  within('shops', o.shops, 1, L.shops_max);
  within('skus_per_shop', o.skus_per_shop, 1, L.skus_per_shop_max);
  within('tokens', o.tokens, 1, L.tokens_max);
  within('precondition_retries_max', o.precondition_retries_max, 0, L.retries_max);
  within('uncertain_retries_max', o.uncertain_retries_max, 0, L.retries_max);
  within('request_ms_max', o.request_ms_max, 1, L.request_ms_max);
  within('check_concurrency', o.check_concurrency, 1, L.check_concurrency_max);
  within('receipt_wait_ms_max', o.receipt_wait_ms_max, 1, L.receipt_wait_ms_max);
  // Stock never runs out: every request of the run could take the most units from one SKU.
  within('stock_initial', o.stock_initial, o.requests_max * UNITS_PER_ORDER_MAX, Number.MAX_SAFE_INTEGER);
  if (!RUN_ID.test(o.run_id) || o.run_id.length > L.run_id_chars_max) throw new LoadError('bad_option', `run_id must be 1..${L.run_id_chars_max} of A-Z a-z 0-9 -`);
  return o;
}

export function usage(): string {
  const lines = ['usage: npm run load -w @cairn/load-tests -- [options]', ''];
  for (const f of FLAGS) lines.push(`  --${f.name.padEnd(18)} ${f.env.padEnd(30)} ${f.help}`);
  return lines.join('\n');
}
