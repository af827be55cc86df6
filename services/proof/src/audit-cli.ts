// `cairn audit`: a thin command line over @cairn/client's runAudit. Exit 0 when every checkpoint
// verified, 1 when the auditor found a failure (rollback, fork, bad signature, ...), 2 on bad usage.
import { readFileSync } from 'node:fs';
import { formatAuditReport, runAudit, type AuditOptions } from '@cairn/client/node';

export const AUDIT_USAGE = `usage: cairn audit --proof-url <url> --origin <origin> --state-file <path>
                   (--verifier-key <key> | --verifier-key-file <path>)
                   [--iterations <n>] [--interval-ms <n>] [--duration-ms <n>]
                   [--sample-seed <s> [--sample-keys k1,k2,...]]
  Follows the cluster's signed checkpoints; verifies each signature, the state-log consistency and
  every shard's consistency proof from the last checkpoint kept in --state-file. With --sample-seed
  it also re-verifies sampled old states and the histories of sampled keys.
  env: CAIRN_PROOF_URL, CAIRN_ORIGIN, CAIRN_AUDIT_STATE_FILE, CAIRN_VERIFIER_KEY, CAIRN_VERIFIER_KEY_FILE`;

const flags = new Set(['--proof-url', '--origin', '--state-file', '--verifier-key', '--verifier-key-file', '--iterations', '--interval-ms', '--duration-ms', '--sample-seed', '--sample-keys']);

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    if (!flags.has(flag)) throw new UsageError(`unknown flag ${flag}`);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '') throw new UsageError(`flag ${flag} needs a value`);
    out.set(flag, value);
  }
  return out;
}

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(value)) throw new UsageError(`${name} must be a non-negative integer`);
  return Number(value);
}

export function auditOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, log: (line: string) => void): AuditOptions {
  const f = parseFlags(argv);
  const pick = (flag: string, envName: string): string | undefined => f.get(flag) ?? (env[envName] === '' ? undefined : env[envName]);
  const proofUrl = pick('--proof-url', 'CAIRN_PROOF_URL');
  const origin = pick('--origin', 'CAIRN_ORIGIN');
  const stateFile = pick('--state-file', 'CAIRN_AUDIT_STATE_FILE');
  const keyFile = pick('--verifier-key-file', 'CAIRN_VERIFIER_KEY_FILE');
  const verifierKey = pick('--verifier-key', 'CAIRN_VERIFIER_KEY') ?? (keyFile === undefined ? undefined : readFileSync(keyFile, 'utf8').trim());
  if (proofUrl === undefined || origin === undefined || stateFile === undefined || verifierKey === undefined) {
    throw new UsageError('--proof-url, --origin, --state-file and a verifier key are required');
  }
  const options: Record<string, unknown> = { proofUrl, origin, stateFile, verifierKey, log };
  const iterations = int(f.get('--iterations'), '--iterations');
  const interval = int(f.get('--interval-ms'), '--interval-ms');
  const duration = int(f.get('--duration-ms'), '--duration-ms');
  if (iterations !== undefined) options['iterations_max'] = iterations;
  if (interval !== undefined) options['interval_ms'] = interval;
  if (duration !== undefined) options['duration_ms_max'] = duration;
  const seed = f.get('--sample-seed');
  if (seed !== undefined) {
    const keys = f.get('--sample-keys');
    options['sample'] = keys === undefined ? { seed } : { seed, keys: keys.split(',').filter((k) => k !== '') };
  } else if (f.has('--sample-keys')) {
    throw new UsageError('--sample-keys needs --sample-seed');
  }
  return options as unknown as AuditOptions;
}

export async function runAuditCli(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(AUDIT_USAGE);
    return 0;
  }
  let options: AuditOptions;
  try {
    options = auditOptions(argv, process.env, (line) => console.log(line));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`cairn audit: ${error.message}\n${AUDIT_USAGE}`);
    return 2;
  }
  const report = await runAudit(options);
  console.log(formatAuditReport(report));
  return report.ok ? 0 : 1;
}
