// A secret the services read from a file rather than an environment variable or flag, which other
// processes and logs can see: the broker token (nats_token_file), read with the broker's CA.
import { readCaFile } from './tls.js';
import { readSettingFile } from './files.js';

/** Characters of a secret read from a file; a longer file is not a token. */
export const SECRET_CHARS_MAX = 4_096;

/** The file's content without its trailing newline; '' for no file. Empty, spaced or long content stops the start. */
export function readSecretFile(path: string, what: string, error: (message: string) => Error): string {
  if (path === '') return '';
  const text = readSettingFile(path, what, error);
  const secret = text.replace(/\r?\n$/, '');
  // The content is never echoed: only what is wrong with it.
  if (secret.length === 0 || secret.length > SECRET_CHARS_MAX || /\s/.test(secret)) {
    throw error(`${what} ${path} must hold one token of 1..${SECRET_CHARS_MAX} characters without spaces`);
  }
  return secret;
}

/** How a service reaches the broker: what connectTransport takes as `token` and `tls_ca`, each only when its file is set. */
export interface BrokerAccess {
  readonly token?: string;
  readonly tls_ca?: string;
}

/** nats_token_file and nats_ca_file, read and checked at start (the same two settings in every service). */
export function readBrokerAccess(c: { readonly nats_token_file: string; readonly nats_ca_file: string }, error: (message: string) => Error): BrokerAccess {
  const token = readSecretFile(c.nats_token_file, 'nats_token_file', error);
  const ca = readCaFile(c.nats_ca_file, 'nats_ca_file', error);
  return { ...(token === '' ? {} : { token }), ...(ca === '' ? {} : { tls_ca: ca }) };
}
