// The signer key: loaded once at start from config (the key itself, or a file holding it), checked
// against the cluster's origin, and never logged. `cairn keygen` makes one.
import { readFileSync, writeFileSync } from 'node:fs';
import { formatVerifierKey, generateKeyPair, parseSignerKey, type KeyPair, type Signer } from '@cairn/checkpoint';
import { ConfigError, type ProofConfig } from './config.js';

/** A key file holds one line; anything much larger is not a key file. */
const KEY_FILE_BYTES_MAX = 4_096;

export function loadSigner(config: ProofConfig): Signer {
  const text = config.signer_key !== '' ? config.signer_key : readKeyFile(config.signer_key_file);
  let signer: Signer;
  try {
    signer = parseSignerKey(text);
  } catch (cause) {
    // The message of the cause never holds key bytes, but say only what kind of problem it is.
    throw new ConfigError(`signer key is not a valid Ed25519 signer key (${(cause as { code?: string }).code ?? 'malformed'})`, { cause });
  }
  // C2SP: the key name names the log. A mismatch means the operator pasted another cluster's key.
  if (signer.name !== config.origin) {
    throw new ConfigError(`signer key is named ${JSON.stringify(signer.name)} but the origin is ${JSON.stringify(config.origin)}`);
  }
  return signer;
}

function readKeyFile(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new ConfigError(`cannot read signer key file ${path}`, { cause });
  }
  if (bytes.length > KEY_FILE_BYTES_MAX) throw new ConfigError(`signer key file ${path} is larger than ${KEY_FILE_BYTES_MAX} bytes`);
  return bytes.toString('utf8').trim();
}

export function verifierKeyOf(signer: Signer): string {
  return formatVerifierKey(signer);
}

export interface KeygenResult extends KeyPair {
  readonly signerFile?: string;
  readonly verifierFile?: string;
}

/** New key pair; with `out`, writes <out>.key (mode 0600) and <out>.pub, refusing to overwrite. */
export function keygen(name: string, out?: string): KeygenResult {
  const pair = generateKeyPair(name);
  if (out === undefined) return pair;
  const signerFile = `${out}.key`;
  const verifierFile = `${out}.pub`;
  writeFileSync(signerFile, `${pair.signerKey}\n`, { mode: 0o600, flag: 'wx' });
  writeFileSync(verifierFile, `${pair.verifierKey}\n`, { flag: 'wx' });
  return { ...pair, signerFile, verifierFile };
}
