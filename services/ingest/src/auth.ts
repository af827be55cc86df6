// API keys: who may write through the gateway, and under which hash tags. A shop's backend holds a
// bearer token; the gateway holds only the token's SHA-256 (a leaked keys file lets nobody write)
// and the hash tags the key may write under, so one shop's key cannot touch another shop's
// records (`{shop42}:...` vs `{shop43}:...`). docs/design/ingest.md, "Authentication".
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hashTag } from '@cairn/wire';

/** Keys one file may hold, and tags one key may list: the table is scanned only at start. */
export const api_keys_max = 10_000;
export const api_key_tags_max = 1_000;
/** A token shorter than this is refused in the file's place: it could be guessed. */
export const token_chars_min = 32;
export const token_chars_max = 256;
/** Tags of a key that may write under every tag (an operator's key). */
export const ALL_TAGS = '*';

const sha256Pattern = /^[0-9a-f]{64}$/;
const namePattern = /^[A-Za-z0-9._:-]{1,64}$/;
// RFC 6750's b64token, bounded.
const tokenPattern = new RegExp(`^[A-Za-z0-9._~+/-]{${token_chars_min},${token_chars_max}}=*$`);
const keyFields = new Set(['name', 'sha256', 'tags']);

export interface ApiKey {
  readonly name: string;
  /** undefined: every tag (ALL_TAGS). */
  readonly tags: ReadonlySet<string> | undefined;
}

export class ApiKeyError extends Error {
  override readonly name = 'ApiKeyError';
}

function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A token and its keys-file entry, for operators: `cairn-ingest apikey --name N --tags a,b`. */
export function newApiKey(name: string, tags: readonly string[], random: Uint8Array): { token: string; entry: { name: string; sha256: string; tags: string[] } } {
  if (random.length < 32) throw new ApiKeyError('an API key needs at least 32 random bytes');
  const token = `cairn_${Buffer.from(random).toString('base64url')}`;
  return { token, entry: { name, sha256: sha256Hex(token), tags: [...tags] } };
}

function parseEntry(entry: unknown, at: string): { sha256: string; key: ApiKey } {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ApiKeyError(`${at} must be an object`);
  for (const field of Object.keys(entry)) if (!keyFields.has(field)) throw new ApiKeyError(`${at} has an unknown field "${field}"`);
  const { name, sha256, tags } = entry as Record<string, unknown>;
  if (typeof name !== 'string' || !namePattern.test(name)) throw new ApiKeyError(`${at}.name must be 1-64 of A-Z a-z 0-9 . _ : -`);
  if (typeof sha256 !== 'string' || !sha256Pattern.test(sha256)) throw new ApiKeyError(`${at}.sha256 must be 64 lower-case hex digits (the SHA-256 of the token)`);
  if (!Array.isArray(tags) || tags.length === 0 || tags.length > api_key_tags_max) throw new ApiKeyError(`${at}.tags must list 1..${api_key_tags_max} hash tags, or ["*"]`);
  if (tags.includes(ALL_TAGS)) {
    if (tags.length !== 1) throw new ApiKeyError(`${at}.tags: "*" stands alone`);
    return { sha256, key: { name, tags: undefined } };
  }
  for (const tag of tags) {
    // A tag is valid when a key can carry it: the same rule the gateway applies to every key.
    if (typeof tag !== 'string' || !isTag(tag)) throw new ApiKeyError(`${at}.tags: ${JSON.stringify(tag)} is not a hash tag`);
  }
  return { sha256, key: { name, tags: new Set(tags as string[]) } };
}

function isTag(tag: string): boolean {
  try {
    return hashTag(`{${tag}}:x`) === tag;
  } catch {
    return false;
  }
}

/**
 * The gateway's keys, looked up by the SHA-256 of the presented token. `reload` replaces the
 * whole table at once (SIGHUP), so keys are added and revoked without a restart.
 */
export class ApiKeys {
  #bySha256: ReadonlyMap<string, ApiKey>;

  private constructor(bySha256: ReadonlyMap<string, ApiKey>) {
    this.#bySha256 = bySha256;
  }

  get size(): number {
    return this.#bySha256.size;
  }

  /** `{"keys": [{"name", "sha256", "tags": [...] | ["*"]}, ...]}`; every entry checked, names and digests unique. */
  static parse(text: string): ApiKeys {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (cause) {
      throw new ApiKeyError(`not JSON: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
    const keys = (doc as { keys?: unknown } | null)?.keys;
    if (typeof doc !== 'object' || doc === null || Object.keys(doc).some((k) => k !== 'keys') || !Array.isArray(keys)) {
      throw new ApiKeyError('must be {"keys": [...]} and nothing else');
    }
    if (keys.length === 0 || keys.length > api_keys_max) throw new ApiKeyError(`must list 1..${api_keys_max} keys`);
    const bySha256 = new Map<string, ApiKey>();
    const names = new Set<string>();
    keys.forEach((entry, i) => {
      const { sha256, key } = parseEntry(entry, `keys[${i}]`);
      if (bySha256.has(sha256)) throw new ApiKeyError(`keys[${i}] repeats the digest of ${bySha256.get(sha256)?.name ?? '?'}`);
      if (names.has(key.name)) throw new ApiKeyError(`keys[${i}] repeats the name ${key.name}`);
      bySha256.set(sha256, key);
      names.add(key.name);
    });
    return new ApiKeys(bySha256);
  }

  static load(path: string): ApiKeys {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      throw new ApiKeyError(`cannot read ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
    try {
      return ApiKeys.parse(text);
    } catch (error) {
      throw new ApiKeyError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * Takes the keys `path` holds now, every entry checked as at start. A bad file changes nothing
   * (ApiKeyError): one typo must not lock every client out, so the keys in force stay.
   */
  reload(path: string): void {
    this.#bySha256 = ApiKeys.load(path).#bySha256;
  }

  /**
   * The key an `Authorization: Bearer <token>` value names, or undefined. The token is hashed
   * and the digest looked up, so the time taken does not depend on how much of a guess matches.
   */
  authenticate(authorization: string | undefined): ApiKey | undefined {
    if (authorization === undefined || authorization.length > token_chars_max + 16) return undefined;
    const space = authorization.indexOf(' ');
    if (space < 0 || authorization.slice(0, space).toLowerCase() !== 'bearer') return undefined;
    const token = authorization.slice(space + 1).trim();
    if (!tokenPattern.test(token)) return undefined;
    return this.#bySha256.get(sha256Hex(token));
  }
}

/** The first record the API key may not write (its index and tag), or undefined when it may write them all. */
export function forbiddenRecord(apiKey: ApiKey, records: readonly { readonly key: string }[]): { index: number; tag: string } | undefined {
  const tags = apiKey.tags;
  if (tags === undefined) return undefined;
  for (let index = 0; index < records.length; index += 1) {
    const tag = hashTag((records[index] as { readonly key: string }).key);
    if (!tags.has(tag)) return { index, tag };
  }
  return undefined;
}
