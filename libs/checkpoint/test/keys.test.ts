import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  CheckpointError,
  base64Decode,
  ed25519KeyId,
  formatVerifierKey,
  generateKeyPair,
  isValidKeyName,
  keyIdHex,
  openNote,
  parseSignerKey,
  parseVerifierKey,
} from '../src/index.js';
import { signedNoteVectors, vectorKey } from './vectors.js';

const vectors = signedNoteVectors();
const peter = vectorKey(vectors, 'PeterNeumann');

function assertCode(fn: () => unknown, code: string, what?: string): void {
  assert.throws(fn, (err: unknown) => err instanceof CheckpointError && err.code === code, what);
}

function assertRejected(fn: () => unknown, what: string): void {
  assert.throws(fn, (err: unknown) => err instanceof CheckpointError, what);
}

/** Key ID computed with node:crypto, independent of the library's SHA-256. */
function referenceKeyId(name: string, publicKey: Uint8Array): string {
  const h = createHash('sha256').update(name).update(Uint8Array.of(0x0a, 0x01)).update(publicKey).digest();
  return h.subarray(0, 4).toString('hex');
}

test('every vector verifier key parses, with the key ID of its name and key', () => {
  for (const [name, key] of Object.entries(vectors.keys)) {
    const v = parseVerifierKey(key.vkey);
    assert.equal(v.name, name);
    assert.equal(keyIdHex(v.keyId), key.keyIdHex);
    assert.equal(referenceKeyId(name, v.publicKey), key.keyIdHex);
    assert.deepEqual(v.publicKey, base64Decode(key.vkey.split('+')[2] ?? '').subarray(1));
    assert.equal(formatVerifierKey(v), key.vkey);
  }
});

test('the PeterNeumann signer key parses and its public half is the published verifier key', () => {
  assert.ok(peter.skey !== undefined);
  const signer = parseSignerKey(peter.skey);
  assert.equal(signer.name, 'PeterNeumann');
  assert.equal(keyIdHex(signer.keyId), peter.keyIdHex);
  assert.equal(formatVerifierKey(signer), peter.vkey);
});

test('generateKeyPair from the all-zero seed reproduces the EnochRoot verifier key (Go example_test)', () => {
  const pair = generateKeyPair('EnochRoot', new Uint8Array(32));
  assert.equal(pair.verifierKey, vectorKey(vectors, 'EnochRoot').vkey);
  assert.equal(formatVerifierKey(parseSignerKey(pair.signerKey)), pair.verifierKey);
});

test('generateKeyPair with the PeterNeumann seed reproduces both published keys', () => {
  assert.ok(peter.skey !== undefined);
  const seed = parseSignerKey(peter.skey).seed;
  assert.deepEqual(generateKeyPair('PeterNeumann', seed), { signerKey: peter.skey, verifierKey: peter.vkey });
});

test('random key pairs parse and differ', () => {
  const a = generateKeyPair('example.com/log');
  const b = generateKeyPair('example.com/log');
  assert.notEqual(a.signerKey, b.signerKey);
  for (const pair of [a, b]) {
    const signer = parseSignerKey(pair.signerKey);
    assert.equal(formatVerifierKey(signer), pair.verifierKey);
    assert.equal(keyIdHex(parseVerifierKey(pair.verifierKey).keyId), referenceKeyId('example.com/log', signer.publicKey));
  }
});

test('generateKeyPair refuses bad names and seeds', () => {
  for (const name of ['', 'a b', 'a+b', 'a\nb', 'a\tb', 'a\u00a0b', 'a\u3000b', 'a\u2028b', 'a\u0001b', 'a\ud800']) {
    assertCode(() => generateKeyPair(name, new Uint8Array(32)), 'KEY_MALFORMED', JSON.stringify(name));
  }
  for (const n of [0, 31, 33, 64]) assertCode(() => generateKeyPair('log', new Uint8Array(n)), 'KEY_MALFORMED');
});

test('key names follow the C2SP rules', () => {
  for (const good of ['a', 'example.com/log42', 'Ünïcødé/名前', '\ud83d\ude00']) assert.ok(isValidKeyName(good), good);
  for (const bad of ['', ' ', 'a+', '+a', 'a\u0085', 'a\u1680', 'a\u2000', 'a\u200a', 'a\u202f', 'a\u205f', 'a\u001f', 'x'.repeat(1025)]) {
    assert.ok(!isValidKeyName(bad), JSON.stringify(bad));
  }
});

test('the listed bad verifier keys are rejected', () => {
  const [extraBytes, badAlgorithm] = vectors.badVerifierKeys_expectError.cases;
  assert.ok(extraBytes !== undefined && badAlgorithm !== undefined);
  assertCode(() => parseVerifierKey(extraBytes), 'KEY_MALFORMED');
  assertCode(() => parseVerifierKey(badAlgorithm), 'KEY_ALGORITHM_UNSUPPORTED');
});

test('every proper substring of the PeterNeumann verifier key is rejected', () => {
  const key = peter.vkey;
  let count = 0;
  for (let start = 0; start < key.length; start += 1) {
    for (let end = start; end <= key.length; end += 1) {
      if (start === 0 && end === key.length) continue;
      assertRejected(() => parseVerifierKey(key.slice(start, end)), `substring [${start}, ${end})`);
      count += 1;
    }
  }
  // Pairs start < length, start <= end <= length, minus the whole string.
  assert.equal(count, (key.length * (key.length + 1)) / 2 + key.length - 1);
});

test('every single-byte +1 mutation of the PeterNeumann verifier and signer keys is rejected', () => {
  assert.ok(peter.skey !== undefined);
  const skey = peter.skey;
  for (const [key, parse] of [
    [peter.vkey, parseVerifierKey],
    [skey, parseSignerKey],
  ] as const) {
    const bytes = new TextEncoder().encode(key);
    for (let i = 0; i < bytes.length; i += 1) {
      const mutated = Uint8Array.from(bytes);
      mutated[i] = ((mutated[i] ?? 0) + 1) % 256;
      assertRejected(() => parse(new TextDecoder().decode(mutated)), `+1 at byte ${i}`);
    }
  }
});

test('key strings reject wrong structure, hex case, algorithm and length', () => {
  const [name, hex, material] = peter.vkey.split('+') as [string, string, string];
  const raw = base64Decode(material);
  const withAlg = (alg: number, key: Uint8Array): string => Buffer.concat([Uint8Array.of(alg), key]).toString('base64');
  assertCode(() => parseVerifierKey(`${name}+${hex.toUpperCase()}+${material}`), 'KEY_MALFORMED');
  assertCode(() => parseVerifierKey(`${name}+${hex}`), 'KEY_MALFORMED');
  assertCode(() => parseVerifierKey(`${name}+${hex}+`), 'KEY_MALFORMED');
  assertCode(() => parseVerifierKey(`${name}+${hex}+${material} `), 'KEY_MALFORMED');
  assertCode(() => parseVerifierKey(`${name}+0${hex}+${material}`), 'KEY_MALFORMED');
  assertCode(() => parseVerifierKey(`${name}+c74f20a4+${material}`), 'KEY_ID_MISMATCH');
  assertCode(() => parseVerifierKey(`Peter+${hex}+${material}`), 'KEY_ID_MISMATCH');
  assertCode(() => parseVerifierKey(`${name}+${hex}+${withAlg(0x04, raw.subarray(1))}`), 'KEY_ALGORITHM_UNSUPPORTED');
  const short = raw.subarray(1, 32);
  assertCode(() => parseVerifierKey(`${name}+${keyIdHex(ed25519KeyId(name, short))}+${withAlg(1, short)}`), 'KEY_MALFORMED');
  assertCode(() => parseSignerKey(peter.vkey), 'KEY_MALFORMED');
  assertCode(() => parseSignerKey(`private+key+${peter.vkey}`), 'KEY_MALFORMED');
});

test('generated keys round trip for random names and seeds (property)', () => {
  const nameChar = fc.constantFrom(...'abcXYZ019./-_:é名😀'.split(/(?:)/u));
  const name = fc.array(nameChar, { minLength: 1, maxLength: 20 }).map((a) => a.join(''));
  fc.assert(
    fc.property(name, fc.uint8Array({ minLength: 32, maxLength: 32 }), (n, seed) => {
      const pair = generateKeyPair(n, seed);
      const signer = parseSignerKey(pair.signerKey);
      const verifier = parseVerifierKey(pair.verifierKey);
      assert.deepEqual(signer.seed, seed);
      assert.deepEqual(verifier.publicKey, signer.publicKey);
      assert.equal(keyIdHex(verifier.keyId), referenceKeyId(n, verifier.publicKey));
    }),
    { numRuns: 200 },
  );
});

test('without crypto.getRandomValues keys cannot be generated, but notes still verify', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  assert.ok(saved !== undefined);
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
  try {
    assertCode(() => generateKeyPair('log'), 'RANDOM_UNAVAILABLE');
    // Verification needs no randomness: a client without WebCrypto can still check notes.
    const golden = vectors.signedNotes[0];
    assert.ok(golden !== undefined);
    assert.equal(openNote(golden.signedNote, [parseVerifierKey(peter.vkey)]).verified.length, 1);
  } finally {
    Object.defineProperty(globalThis, 'crypto', saved);
  }
  assert.ok(generateKeyPair('log').signerKey.startsWith('PRIVATE+KEY+log+'));
});
