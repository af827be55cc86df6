// Files a setting names (a certificate, a key, a token): read at start, and an unreadable one
// stops the start naming the setting.
import { readFileSync } from 'node:fs';

export function readSettingFile(path: string, what: string, error: (message: string) => Error): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw error(`cannot read ${what} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
