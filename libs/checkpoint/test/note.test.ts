import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CheckpointError,
  NOTE_BYTES_MAX,
  NOTE_SIGNATURES_MAX,
  NoteUnverifiedError,
  VerifierList,
  base64Decode,
  generateKeyPair,
  keyIdHex,
  openNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  type Signature,
  type Verifier,
} from '../src/index.js';
import { signedNoteVectors, vectorKey } from './vectors.js';

const vectors = signedNoteVectors();
const peterKeys = vectorKey(vectors, 'PeterNeumann');
const peter = parseVerifierKey(peterKeys.vkey);
const enoch = parseVerifierKey(vectorKey(vectors, 'EnochRoot').vkey);
const golden = vectors.signedNotes[0];
assert.ok(golden !== undefined && golden.text !== undefined);
const goldenText = golden.text;
const peterSigLine = golden.signedNote.slice(goldenText.length + 1);
// The second vector note carries EnochRoot's signature over the same text as its last line.
const enochSigLine = (vectors.signedNotes[1]?.signedNote.split('\n').at(-2) ?? '') + '\n';
assert.ok(enochSigLine.startsWith('— EnochRoot '));

function assertCode(fn: () => unknown, code: string, what?: string): void {
  assert.throws(
    fn,
    (err: unknown) => {
      assert.ok(err instanceof CheckpointError, `${what ?? ''}: ${String(err)}`);
      assert.equal(err.code, code, `${what ?? ''}: ${err.message}`);
      return true;
    },
    what,
  );
}

const names = (sigs: readonly Signature[]): string[] => sigs.map((s) => s.name);

test('every signed-note vector opens or fails as published', () => {
  for (const vector of vectors.signedNotes) {
    const verifiers = vector.verifiers.map(parseVerifierKey);
    const note = vector.signedNoteHex === undefined ? vector.signedNote : Buffer.from(vector.signedNoteHex, 'hex');
    if (vector.expect.ok) {
      const opened = openNote(note, verifiers);
      if (vector.text !== undefined) assert.equal(opened.text, vector.text, vector.name);
      const want = (vector.expect.verifiedSigs ?? []).map((s) => (typeof s === 'string' ? s : s.name));
      assert.deepEqual(names(opened.verified), want, vector.name);
      assert.deepEqual(names(opened.unverified), vector.expect.unverifiedSigs ?? [], vector.name);
      for (const s of vector.expect.verifiedSigs ?? []) {
        if (typeof s === 'string') continue;
        const got = opened.verified.find((v) => v.name === s.name);
        assert.equal(got?.base64, s.base64);
        assert.equal(keyIdHex(got?.keyId ?? -1), s.keyIdHex);
      }
    } else if (vector.expect.error?.startsWith('note has no verifiable signatures')) {
      assert.throws(
        () => openNote(note, verifiers),
        (err: unknown) =>
          err instanceof NoteUnverifiedError &&
          err.code === 'NOTE_NO_VERIFIED_SIGNATURE' &&
          JSON.stringify(names(err.unverified)) === JSON.stringify(vector.expect.unverifiedSigs),
        vector.name,
      );
    } else {
      assert.match(vector.expect.error ?? '', /^invalid signature for key /);
      assertCode(() => openNote(note, verifiers), 'NOTE_BAD_SIGNATURE', vector.name);
    }
  }
});

test('the corrupted-signature vector string and its byte form are the same note', () => {
  const corrupted = vectors.signedNotes.find((v) => v.signedNoteHex !== undefined);
  assert.ok(corrupted?.signedNoteHex !== undefined);
  assert.equal(Buffer.from(corrupted.signedNoteHex, 'hex').toString('utf8'), corrupted.signedNote);
  assertCode(() => openNote(corrupted.signedNote, [peter]), 'NOTE_BAD_SIGNATURE');
});

test('re-signing with the PRIVATE+KEY reproduces the golden note byte for byte', () => {
  assert.ok(peterKeys.skey !== undefined);
  assert.equal(signNote(goldenText, [parseSignerKey(peterKeys.skey)]), golden.signedNote);
});

test('the listed malformed notes are rejected, including the two built in code', () => {
  const cases = vectors.malformedNotes_expectError_malformed_note.cases;
  const literal = cases.filter((c) => !c.startsWith('<0xFF') && !c.startsWith('text + '));
  assert.equal(literal.length, cases.length - 2, 'two cases are prose, constructed below');
  for (const note of literal) assertCode(() => openNote(note, [peter]), 'NOTE_MALFORMED', JSON.stringify(note));

  const invalidUtf8 = Buffer.concat([Uint8Array.of(0xff), Buffer.from(goldenText + '\n' + peterSigLine)]);
  assertCode(() => openNote(invalidUtf8, [peter]), 'NOTE_MALFORMED', '0xFF byte');
  // The same note without the 0xFF byte opens, so the byte alone is the reason.
  assert.equal(openNote(invalidUtf8.subarray(1), [peter]).text, goldenText);

  const tooMany = goldenText + '\n' + peterSigLine.repeat(NOTE_SIGNATURES_MAX + 1);
  assertCode(() => openNote(tooMany, [peter]), 'NOTE_LIMIT_EXCEEDED', '101 signatures');
  assert.equal(openNote(goldenText + '\n' + peterSigLine.repeat(NOTE_SIGNATURES_MAX), [peter]).verified.length, 1);
});

test('the signature limit accepts at least the 16 distinct signatures C2SP requires', () => {
  assert.ok(NOTE_SIGNATURES_MAX >= 16 && NOTE_SIGNATURES_MAX <= 100);
  const pairs = Array.from({ length: 16 }, (_, i) => generateKeyPair(`w${i}.example`, new Uint8Array(32).fill(i + 1)));
  const note = signNote('sixteen\n', pairs.map((p) => parseSignerKey(p.signerKey)));
  const opened = openNote(note, pairs.map((p) => parseVerifierKey(p.verifierKey)));
  assert.equal(opened.verified.length, 16);
});

test('verifier list: unknown name or key ID is not found, a repeated key is ambiguous', () => {
  const list = new VerifierList([peter, enoch]);
  for (const c of vectors.verifierListErrors.cases) {
    const [name, hex] = c.lookup;
    if (c.error.startsWith('unknown key')) {
      assert.equal(list.find(name, Number.parseInt(hex, 16)), undefined, c.error);
    } else {
      assert.match(c.error, /^ambiguous key /);
      assert.equal(c.list, '[peter, enoch, enoch]');
      assertCode(() => new VerifierList([peter, enoch, enoch]), 'VERIFIER_AMBIGUOUS');
      assertCode(() => openNote(golden.signedNote, [peter, enoch, enoch]), 'VERIFIER_AMBIGUOUS');
    }
  }
  assert.equal(list.find('PeterNeumann', peter.keyId), peter);
});

test('hand-built verifiers with a wrong key ID or key length are refused', () => {
  const wrongId: Verifier = { ...peter, keyId: peter.keyId + 1 };
  assertCode(() => openNote(golden.signedNote, [wrongId]), 'KEY_ID_MISMATCH');
  const shortKey: Verifier = { ...peter, publicKey: peter.publicKey.subarray(1) };
  assertCode(() => openNote(golden.signedNote, [shortKey]), 'KEY_MALFORMED');
});

test('a key that shares only the name or only the key ID is unknown, and its signature ignored', () => {
  const sameName = parseVerifierKey(generateKeyPair('PeterNeumann', new Uint8Array(32).fill(9)).verifierKey);
  assertCode(() => openNote(golden.signedNote, [sameName]), 'NOTE_NO_VERIFIED_SIGNATURE');
  const sameIdLine = peterSigLine.replace('PeterNeumann', 'PeterNeumann2');
  const note = goldenText + '\n' + peterSigLine + sameIdLine;
  const opened = openNote(note, [peter]);
  assert.deepEqual(names(opened.unverified), ['PeterNeumann2']);
});

test('a failing signature from a known key rejects the note even when another key verifies', () => {
  const otherText = 'different text\n';
  const enochOnOther = otherText + '\n' + enochSigLine;
  assertCode(() => openNote(enochOnOther, [enoch]), 'NOTE_BAD_SIGNATURE');
  // Character 30 of the base64 lies in the Ed25519 signature, past the 4-byte key ID.
  const at = '— EnochRoot '.length + 30;
  const tampered = enochSigLine.slice(0, at) + (enochSigLine[at] === 'A' ? 'B' : 'A') + enochSigLine.slice(at + 1);
  const mixed = goldenText + '\n' + peterSigLine + tampered;
  assertCode(() => openNote(mixed, [peter, enoch]), 'NOTE_BAD_SIGNATURE');
  assert.deepEqual(names(openNote(mixed, [peter]).verified), ['PeterNeumann']);
});

test('a known-key signature of the wrong length is a bad signature, not ignored', () => {
  const sig = base64Decode(peterSigLine.slice('— PeterNeumann '.length, -1));
  for (const len of [5, 67, 69]) {
    const bytes = new Uint8Array(len);
    bytes.set(sig.subarray(0, Math.min(len, sig.length)));
    const note = `${goldenText}\n— PeterNeumann ${Buffer.from(bytes).toString('base64')}\n`;
    assertCode(() => openNote(note, [peter]), 'NOTE_BAD_SIGNATURE', `length ${len}`);
  }
  assertCode(() => openNote(`${goldenText}\n— PeterNeumann ${Buffer.from(sig.subarray(0, 4)).toString('base64')}\n`, [peter]), 'NOTE_MALFORMED');
});

test('repeated identical signature lines are listed once', () => {
  const note = goldenText + '\n' + peterSigLine.repeat(3) + enochSigLine.repeat(2);
  const opened = openNote(note, [peter]);
  assert.deepEqual(names(opened.verified), ['PeterNeumann']);
  assert.deepEqual(names(opened.unverified), ['EnochRoot']);
});

test('note syntax: separator, prefix, names and base64 are checked before any key', () => {
  const body = goldenText + '\n';
  const b64 = peterSigLine.slice('— PeterNeumann '.length, -1);
  const bad: Array<[string, string]> = [
    ['', 'empty'],
    ['\n\n', 'no signatures'],
    [goldenText + peterSigLine, 'no blank line'],
    [body + peterSigLine.slice(0, -1), 'no final newline'],
    [body + peterSigLine + '\n', 'blank line after signatures'],
    [body + '-- PeterNeumann ' + b64 + '\n', 'ASCII dashes'],
    [body + '—PeterNeumann ' + b64 + '\n', 'no space after dash'],
    [body + '—  PeterNeumann ' + b64 + '\n', 'two spaces after dash'],
    [body + '— PeterNeumann  ' + b64 + '\n', 'two spaces before base64'],
    [body + '— PeterNeumann\n', 'no base64'],
    [body + '— PeterNeumann \n', 'empty base64'],
    [body + '— PeterNeumann ' + b64 + ' \n', 'trailing space'],
    [body + '— PeterNeumann ' + b64.slice(0, -1) + '\n', 'unpadded base64'],
    [body + '— Peter+Neumann ' + b64 + '\n', 'plus in name'],
    [body + '— Peter\u00a0Neumann ' + b64 + '\n', 'NBSP in name'],
    [body + '— PeterNeumann ' + b64 + '\r\n', 'CRLF'],
    ['text\r\n\n' + peterSigLine, 'carriage return in text'],
    ['te\txt\n\n' + peterSigLine, 'tab in text'],
    ['text\ud800\n\n' + peterSigLine, 'unpaired surrogate'],
  ];
  for (const [note, what] of bad) {
    assertCode(() => parseNote(note), 'NOTE_MALFORMED', what);
    assertCode(() => openNote(note, [peter]), 'NOTE_MALFORMED', what);
  }
});

test('the text is separated at the last blank line, so texts may hold blank lines', () => {
  assert.ok(peterKeys.skey !== undefined);
  const signer = parseSignerKey(peterKeys.skey);
  for (const text of ['\n', 'a\n\nb\n', 'a\n\n', 'a\n\n\n', '— PeterNeumann x\n\n', '\ufeffbom\n']) {
    const note = signNote(text, [signer]);
    assert.equal(openNote(note, [peter]).text, text, JSON.stringify(text));
    assert.equal(parseNote(note).text, text);
  }
});

test('signNote refuses texts and signer lists that could not be opened', () => {
  assert.ok(peterKeys.skey !== undefined);
  const signer = parseSignerKey(peterKeys.skey);
  for (const text of ['', 'no newline', 'tab\there\n', 'cr\r\n', 'lone \udc00\n']) {
    assertCode(() => signNote(text, [signer]), 'NOTE_TEXT_INVALID', JSON.stringify(text));
  }
  assertCode(() => signNote('x\n', []), 'SIGNERS_INVALID');
  assertCode(() => signNote('x\n', [signer, signer]), 'SIGNERS_INVALID');
  assertCode(() => signNote('x\n', [{ ...signer, seed: new Uint8Array(32) }]), 'KEY_MALFORMED');
  assertCode(() => signNote('x'.repeat(1_048_576) + '\n', [signer]), 'NOTE_LIMIT_EXCEEDED');
});

// Texts a note may carry: printable characters and newlines, ending in a newline.
const noteText = fc
  .array(fc.oneof(fc.constant('\n'), fc.string({ unit: 'grapheme', maxLength: 8 })), { maxLength: 12 })
  .map((parts) => parts.join('').replace(/[\u0000-\u0009\u000b-\u001f]/g, '') + '\n');
const keySeed = fc.uint8Array({ minLength: 32, maxLength: 32 });

test('sign then open returns the text and every signer (property)', () => {
  fc.assert(
    fc.property(noteText, fc.uniqueArray(keySeed, { minLength: 1, maxLength: 3, selector: (s) => s.join() }), (text, seeds) => {
      const pairs = seeds.map((seed, i) => generateKeyPair(`log${i}.example`, seed));
      const note = signNote(text, pairs.map((p) => parseSignerKey(p.signerKey)));
      const opened = openNote(note, pairs.map((p) => parseVerifierKey(p.verifierKey)));
      assert.equal(opened.text, text);
      assert.deepEqual(names(opened.verified), pairs.map((_, i) => `log${i}.example`));
      assert.equal(opened.unverified.length, 0);
      // The same note with only the first key known: the rest are reported, not trusted.
      const partial = openNote(note, [parseVerifierKey(pairs[0]?.verifierKey ?? '')]);
      assert.equal(partial.verified.length, 1);
      assert.equal(partial.unverified.length, pairs.length - 1);
    }),
    { numRuns: 150 },
  );
});

test('a signature spelled with non-zero unused base64 bits is refused, though a lenient decoder reads the same bytes', () => {
  const b64 = peterSigLine.slice('— PeterNeumann '.length, -1);
  assert.ok(b64.endsWith('=') && !b64.endsWith('=='), '68 bytes: the last character carries 2 unused bits');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const last = alphabet.indexOf(b64.charAt(b64.length - 2));
  let variants = 0;
  for (let low = 1; low < 4; low += 1) {
    const spelled = b64.slice(0, -2) + alphabet.charAt(last + low) + '=';
    assert.deepEqual(Buffer.from(spelled, 'base64'), Buffer.from(b64, 'base64'));
    assertCode(() => openNote(`${goldenText}\n— PeterNeumann ${spelled}\n`, [peter]), 'NOTE_MALFORMED');
    variants += 1;
  }
  assert.equal(variants, 3);
});

test('a malleated signature (S + L) is refused', () => {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const data = base64Decode(peterSigLine.slice('— PeterNeumann '.length, -1));
  const sBytes = data.subarray(4 + 32);
  let s = 0n;
  for (let i = 31; i >= 0; i -= 1) s = s * 256n + BigInt(sBytes[i] ?? 0);
  let t = s + L;
  const malleated = Uint8Array.from(data);
  for (let i = 0; i < 32; i += 1) {
    malleated[4 + 32 + i] = Number(t % 256n);
    t /= 256n;
  }
  assert.equal(t, 0n, 'S + L still fits in 32 bytes');
  const note = `${goldenText}\n— PeterNeumann ${Buffer.from(malleated).toString('base64')}\n`;
  assertCode(() => openNote(note, [peter]), 'NOTE_BAD_SIGNATURE');
});

test('notes over NOTE_BYTES_MAX are refused before any parsing, as strings and as bytes', () => {
  const big = goldenText + 'x'.repeat(NOTE_BYTES_MAX) + '\n\n' + peterSigLine;
  assertCode(() => openNote(big, [peter]), 'NOTE_LIMIT_EXCEEDED');
  assertCode(() => openNote(Buffer.from(big), [peter]), 'NOTE_LIMIT_EXCEEDED');
  // Under the limit in UTF-16 code units, over it in UTF-8 bytes.
  const wide = 'é'.repeat(NOTE_BYTES_MAX / 2) + '\n\n' + peterSigLine;
  assert.ok(wide.length < NOTE_BYTES_MAX);
  assertCode(() => openNote(wide, [peter]), 'NOTE_LIMIT_EXCEEDED');
});
