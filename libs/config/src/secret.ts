// A secret the services read from a file rather than an environment variable or flag, which other
// processes and logs can see: the broker token (nats_token_file).
import { readFileSync } from 'node:fs';

/** Characters of a secret read from a file; a longer file is not a token. */
export const SECRET_CHARS_MAX = 4_096;

/** A settings file's text; an unreadable one stops the start naming the setting (shared by tls.ts). */
export function readSettingFile(path: string, what: string, error: (message: string) => Error): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw error(`cannot read ${what} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

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
