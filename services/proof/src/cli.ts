#!/usr/bin/env node
// `cairn <command>`: the operator's entry point.
//   cairn keygen --name <origin> [--out <path>]   new Ed25519 signer + verifier key
//   cairn proof [flags]                           run the proof service (same as cairn-proof)
//   cairn audit [args]                            follow and verify a cluster's checkpoints (@cairn/client)
import { keygen } from './signer.js';
import { runProof } from './run.js';
import { runAuditCli } from './audit-cli.js';

const HELP = `usage: cairn <command>
  keygen --name <origin> [--out <path>]  print a new signer key and verifier key; with --out,
                                         write <path>.key (mode 0600) and <path>.pub
  proof [--help] [flags]                 run the proof service
  audit [--help] [flags]                 follow and verify the cluster's checkpoints (exit 1 on failure)`;

type Command = (argv: readonly string[]) => Promise<number>;

const commands: Record<string, Command> = {
  keygen: async (argv) => {
    const name = flagValue(argv, '--name');
    if (name === undefined) throw new Error('keygen needs --name <origin> (the cluster name, which is also the key name)');
    const out = flagValue(argv, '--out');
    const pair = keygen(name, out);
    if (out === undefined) {
      console.log(`signer key (secret; CAIRN_SIGNER_KEY):\n${pair.signerKey}\nverifier key (public; pin it in clients):\n${pair.verifierKey}`);
    } else {
      console.log(`wrote ${pair.signerFile} (secret; CAIRN_SIGNER_KEY_FILE) and ${pair.verifierFile}\nverifier key: ${pair.verifierKey}`);
    }
    return 0;
  },
  proof: async (argv) => {
    await runProof(argv);
    return -1; // keeps running until a signal
  },
  audit: (argv) => runAuditCli(argv),
};

function flagValue(argv: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === flag) return argv[i + 1];
    if (arg.startsWith(`${flag}=`)) return arg.slice(flag.length + 1);
  }
  return undefined;
}

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  const command = name === undefined ? undefined : commands[name];
  if (command === undefined) {
    console.log(HELP);
    process.exitCode = name === undefined || name === '--help' || name === '-h' ? 0 : 2;
    return;
  }
  const code = await command(rest);
  if (code >= 0) process.exitCode = code;
}

main().catch((error: unknown) => {
  console.error(`cairn: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
