import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  CHECKPOINT_EXTENSION_LINES_MAX,
  CHECKPOINT_SIZE_MAX,
  CheckpointError,
  NoteUnverifiedError,
  base64Decode,
  formatCheckpoint,
  generateKeyPair,
  keyIdHex,
  openCheckpoint,
  parseCheckpoint,
  parseCheckpointLines,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  openNote,
  signCheckpoint,
  signNote,
  type Checkpoint,
} from '../src/index.js';
import { checkpointVectors } from './vectors.js';

const vectors = checkpointVectors();
const root32 = createHash('sha256').update('root').digest();
const logPair = generateKeyPair('example.com/log', new Uint8Array(32).fill(7));
const logSigner = parseSignerKey(logPair.signerKey);
const logVerifier = parseVerifierKey(logPair.verifierKey);

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

test('the C2SP checkpoint example parses, and its signature is reported as from an unknown key', () => {
  const example = vectors.c2spCheckpointExample;
  const parsed = parseNote(example.note);
  const checkpoint = parseCheckpoint(parsed.text);
  assert.equal(checkpoint.origin, example.expect.origin);
  assert.equal(checkpoint.size, example.expect.size);
  assert.deepEqual(checkpoint.rootHash, base64Decode(example.expect.rootHashB64));
  assert.deepEqual(checkpoint.extensions, example.expect.extensionLines);
  assert.equal(formatCheckpoint(checkpoint), parsed.text);
  const [sig] = parsed.signatures;
  assert.ok(sig !== undefined && parsed.signatures.length === 1);
  assert.equal(keyIdHex(sig.keyId), example.expect.sigKeyIdHex);
  assert.equal(base64Decode(sig.base64).length, example.expect.sigLenBytes);
  // The spec publishes no public key: a key with the same name is a different key, so nothing verifies.
  const sameName = parseVerifierKey(generateKeyPair(example.expect.origin, new Uint8Array(32)).verifierKey);
  assert.throws(
    () => openCheckpoint(example.note, [sameName]),
    (err: unknown) => err instanceof NoteUnverifiedError && err.unverified[0]?.keyId === sig.keyId,
  );
});

test('the Go sumdb tree note parses to its size and the RFC 6962 leaf hash of "hello world"', () => {
  const tree = vectors.golangSumdbTreeNote;
  const checkpoint = parseCheckpoint(tree.text);
  assert.equal(checkpoint.origin, 'go.sum database tree');
  assert.equal(checkpoint.size, tree.size);
  const leaf = createHash('sha256').update(Uint8Array.of(0)).update('hello world').digest();
  assert.deepEqual(checkpoint.rootHash, new Uint8Array(leaf));
  assert.equal(Buffer.from(checkpoint.rootHash).toString('base64'), tree.rootHashB64);
  assert.equal(formatCheckpoint(checkpoint), tree.text);
});

test('transparency-dev/formats valid bodies: right structure, refused only for their short test hashes', () => {
  for (const c of vectors.formatsCheckpointParse.valid) {
    if (c.caution !== undefined) {
      // Blank extension lines: formats accepts them, C2SP forbids them, we refuse.
      assertCode(() => parseCheckpointLines(c.in), 'CHECKPOINT_MALFORMED', c.in);
      assertCode(() => parseCheckpoint(c.in), 'CHECKPOINT_MALFORMED', c.in);
      continue;
    }
    const lines = parseCheckpointLines(c.in);
    if (c.origin !== undefined) assert.equal(lines.origin, c.origin);
    if (c.size !== undefined) assert.equal(lines.size, c.size);
    if (c.hashUtf8 !== undefined) assert.equal(Buffer.from(lines.rootHash).toString('utf8'), c.hashUtf8);
    const rest = lines.extensions.map((l) => l + '\n').join('');
    assert.equal(rest, c.rest ?? '');
    assert.notEqual(lines.rootHash.length, 32);
    assertCode(() => parseCheckpoint(c.in), 'CHECKPOINT_ROOT_SIZE', c.in);
  }
});

test('transparency-dev/formats invalid bodies are refused as malformed', () => {
  for (const text of vectors.formatsCheckpointParse.invalid) {
    assertCode(() => parseCheckpointLines(text), 'CHECKPOINT_MALFORMED', JSON.stringify(text));
    assertCode(() => parseCheckpoint(text), 'CHECKPOINT_MALFORMED', JSON.stringify(text));
  }
});

test('a static-ct (RFC 6962 signature type) checkpoint is reported as unknown, never a crash', () => {
  const ct = vectors.staticCtCheckpointRFC6962Sig;
  assertCode(() => parseVerifierKey(ct.vkey), 'KEY_ALGORITHM_UNSUPPORTED');
  const [name, hex] = ct.vkey.split('+') as [string, string];
  for (const note of [ct.signedNote, 'B0rked' + ct.signedNote]) {
    assert.throws(
      () => openCheckpoint(note, [logVerifier]),
      (err: unknown) =>
        err instanceof NoteUnverifiedError &&
        err.unverified.length === 1 &&
        err.unverified[0]?.name === name &&
        keyIdHex(err.unverified[0].keyId) === hex,
    );
  }
  const checkpoint = parseCheckpoint(parseNote(ct.signedNote).text);
  assert.equal(checkpoint.origin, name);
  assert.equal(checkpoint.size, 115474666);
});

const good = `example.com/log\n5\n${root32.toString('base64')}\n`;

test('every malformed checkpoint form is refused', () => {
  const b64 = root32.toString('base64');
  const malformed: Array<[string, string]> = [
    ['', 'empty'],
    ['\n', 'one empty line'],
    [good.slice(0, -1), 'no final newline'],
    [`example.com/log\n5\n`, 'no root line'],
    [`example.com/log\n`, 'only origin'],
    [`\n5\n${b64}\n`, 'empty origin'],
    [`o\n\n${b64}\n`, 'empty size'],
    [`o\n5\n\n`, 'empty root'],
    [`o\n05\n${b64}\n`, 'leading zero'],
    [`o\n00\n${b64}\n`, 'double zero'],
    [`o\n-5\n${b64}\n`, 'negative'],
    [`o\n-0\n${b64}\n`, 'negative zero'],
    [`o\n+5\n${b64}\n`, 'plus sign'],
    [`o\n 5\n${b64}\n`, 'leading space'],
    [`o\n5 \n${b64}\n`, 'trailing space'],
    [`o\n5.0\n${b64}\n`, 'decimal point'],
    [`o\n1e3\n${b64}\n`, 'exponent'],
    [`o\n0x10\n${b64}\n`, 'hex'],
    [`o\n٥\n${b64}\n`, 'non-ASCII digit'],
    [`o\n9007199254740992\n${b64}\n`, '2^53'],
    [`o\n18446744073709551615\n${b64}\n`, '2^64-1'],
    [`o\n5\n${b64.slice(0, -1)}\n`, 'unpadded root'],
    [`o\n5\n${b64} \n`, 'space after root'],
    [`o\n5\n${b64.replace(/\+|\//g, '-')}x\n`, 'url alphabet'],
    [`o\n5\n${b64}\n\n`, 'empty extension line'],
    [`o\n5\n${b64}\next\n\n`, 'trailing empty extension line'],
    [`o\n5\n${b64}\r\n`, 'CRLF'],
    [`o\r\n5\n${b64}\n`, 'CR in origin'],
    [`o\t\n5\n${b64}\n`, 'tab in origin'],
    [`o\ud800\n5\n${b64}\n`, 'unpaired surrogate'],
    [`o\n5\n${b64}\n` + 'e\n'.repeat(CHECKPOINT_EXTENSION_LINES_MAX + 1), 'too many extension lines'],
  ];
  for (const [text, what] of malformed) assertCode(() => parseCheckpoint(text), 'CHECKPOINT_MALFORMED', what);
  assert.ok(parseCheckpoint(`o\n5\n${b64}\n` + 'e\n'.repeat(CHECKPOINT_EXTENSION_LINES_MAX)));
  assert.equal(parseCheckpoint(`o\n9007199254740991\n${b64}\n`).size, CHECKPOINT_SIZE_MAX);
  assert.equal(parseCheckpoint(`o\n0\n${b64}\n`).size, 0);
  for (const len of [0, 1, 31, 33, 48, 64]) {
    const text = `o\n5\n${Buffer.alloc(len, 1).toString('base64')}\n`;
    assertCode(() => parseCheckpoint(text), len === 0 ? 'CHECKPOINT_MALFORMED' : 'CHECKPOINT_ROOT_SIZE', `root ${len}`);
  }
});

test('formatCheckpoint refuses what parseCheckpoint would refuse', () => {
  const base = { origin: 'o', size: 1, rootHash: new Uint8Array(root32) };
  const bad: Array<[object, string, string]> = [
    [{ origin: '' }, 'CHECKPOINT_MALFORMED', 'empty origin'],
    [{ origin: 'a\nb' }, 'CHECKPOINT_MALFORMED', 'newline in origin'],
    [{ origin: 'a\u0000' }, 'CHECKPOINT_MALFORMED', 'NUL in origin'],
    [{ size: -1 }, 'CHECKPOINT_MALFORMED', 'negative'],
    [{ size: 1.5 }, 'CHECKPOINT_MALFORMED', 'fraction'],
    [{ size: Number.NaN }, 'CHECKPOINT_MALFORMED', 'NaN'],
    [{ size: 2 ** 53 }, 'CHECKPOINT_MALFORMED', '2^53'],
    [{ rootHash: new Uint8Array(31) }, 'CHECKPOINT_ROOT_SIZE', 'short root'],
    [{ rootHash: new Uint8Array(33) }, 'CHECKPOINT_ROOT_SIZE', 'long root'],
    [{ extensions: [''] }, 'CHECKPOINT_MALFORMED', 'empty extension'],
    [{ extensions: ['a\nb'] }, 'CHECKPOINT_MALFORMED', 'two-line extension'],
    [{ extensions: ['a\r'] }, 'CHECKPOINT_MALFORMED', 'CR in extension'],
    [{ extensions: Array(CHECKPOINT_EXTENSION_LINES_MAX + 1).fill('e') }, 'CHECKPOINT_MALFORMED', 'too many'],
  ];
  for (const [change, code, what] of bad) {
    assertCode(() => formatCheckpoint({ ...base, ...change } as Checkpoint), code, what);
  }
  assert.equal(formatCheckpoint({ ...base, extensions: ['x y', 'z'] }), `o\n1\n${root32.toString('base64')}\nx y\nz\n`);
});

test('openCheckpoint pins the origin when asked', () => {
  const note = signCheckpoint({ origin: 'example.com/log', size: 5, rootHash: root32 }, [logSigner]);
  assert.equal(openCheckpoint(note, [logVerifier], { origin: 'example.com/log' }).checkpoint.size, 5);
  assertCode(() => openCheckpoint(note, [logVerifier], { origin: 'example.com/other' }), 'CHECKPOINT_ORIGIN_MISMATCH');
});

test('a signed note whose text is not a checkpoint is refused after verification', () => {
  const note = signNote('o\n1\n', [logSigner]);
  assert.equal(openNote(note, [logVerifier]).text, 'o\n1\n');
  assertCode(() => openCheckpoint(note, [logVerifier]), 'CHECKPOINT_MALFORMED');
});

test('every single-bit flip of a signed checkpoint is refused', () => {
  const note = Buffer.from(
    signCheckpoint({ origin: 'example.com/log', size: 123456, rootHash: root32, extensions: ['ext'] }, [logSigner]),
  );
  assert.equal(openCheckpoint(note, [logVerifier]).checkpoint.size, 123456);
  for (let i = 0; i < note.length; i += 1) {
    for (let bit = 0; bit < 8; bit += 1) {
      const mutated = Uint8Array.from(note);
      mutated[i] = (mutated[i] ?? 0) ^ (1 << bit);
      assert.throws(() => openCheckpoint(mutated, [logVerifier]), CheckpointError, `byte ${i} bit ${bit}`);
    }
  }
});

const origin = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 30 })
  .map((s) => s.replace(/[\u0000-\u001f]/g, ''))
  .filter((s) => s.length > 0);
const checkpointArb = fc.record({
  origin,
  size: fc.oneof(fc.nat(), fc.constant(0), fc.constant(CHECKPOINT_SIZE_MAX), fc.maxSafeNat()),
  rootHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  extensions: fc.array(origin, { maxLength: 4 }),
});

/** Field values only: fast-check records have a null prototype, parsed checkpoints are frozen objects. */
function plain(cp: Checkpoint): Checkpoint {
  return { origin: cp.origin, size: cp.size, rootHash: cp.rootHash, extensions: [...cp.extensions] };
}

test('format then parse is the identity (property)', () => {
  fc.assert(
    fc.property(checkpointArb, (cp) => {
      const text = formatCheckpoint(cp);
      assert.deepEqual(plain(parseCheckpoint(text)), plain(cp));
      assert.equal(formatCheckpoint(parseCheckpoint(text)), text);
    }),
    { numRuns: 500 },
  );
});

test('any single-byte change to a signed checkpoint fails to open (property)', () => {
  fc.assert(
    fc.property(checkpointArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (cp, at, delta) => {
      const note = new TextEncoder().encode(signCheckpoint(cp, [logSigner]));
      assert.deepEqual(plain(openCheckpoint(note, [logVerifier]).checkpoint), plain(cp));
      const mutated = Uint8Array.from(note);
      const i = at % note.length;
      mutated[i] = ((mutated[i] ?? 0) + delta) % 256;
      assert.throws(() => openCheckpoint(mutated, [logVerifier]), CheckpointError, `byte ${i} +${delta}`);
    }),
    { numRuns: 300 },
  );
});
