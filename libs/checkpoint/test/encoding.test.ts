import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CheckpointError, base64Decode, base64Encode, utf8Decode, utf8Encode } from '../src/index.js';

// node's Buffer is the independent reference here (tests may use Node; the library may not).
const reference = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof CheckpointError && err.code === code);
}

test('base64Encode matches the reference encoder for every length 0..64', () => {
  for (let n = 0; n <= 64; n += 1) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) % 256);
    assert.equal(base64Encode(bytes), reference(bytes));
    assert.deepEqual(base64Decode(reference(bytes)), bytes);
  }
});

test('base64 round trip (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const text = base64Encode(bytes);
      assert.equal(text, reference(bytes));
      assert.deepEqual(base64Decode(text), bytes);
    }),
  );
});

test('base64Decode accepts exactly the canonical encodings (property against the reference)', () => {
  const chars = fc.constantFrom(...'AQgwBDPa/+=9z-_ \n'.split(''));
  fc.assert(
    fc.property(fc.array(chars, { maxLength: 12 }).map((a) => a.join('')), (text) => {
      const canonical = reference(Buffer.from(text, 'base64')) === text;
      let accepted = true;
      try {
        base64Decode(text);
      } catch (err) {
        assert.ok(err instanceof CheckpointError && err.code === 'BASE64_MALFORMED');
        accepted = false;
      }
      assert.equal(accepted, canonical, JSON.stringify(text));
    }),
    { numRuns: 3000 },
  );
});

test('base64Decode rejects non-canonical forms by name', () => {
  for (const bad of ['QQ', 'QQ=', 'QR==', 'QUI=QUI=', 'QUJ=', 'Q===', '====', 'QU I', 'QUI\n', ' QUI=', 'QUI-', 'QUI_', 'QUIÄ']) {
    assertCode(() => base64Decode(bad), 'BASE64_MALFORMED');
  }
  assert.deepEqual(base64Decode(''), new Uint8Array(0));
  assert.deepEqual(base64Decode('QQ=='), Uint8Array.of(0x41));
});

test('utf8Decode is fatal and keeps a byte-order mark', () => {
  assertCode(() => utf8Decode(Uint8Array.of(0xff)), 'UTF8_MALFORMED');
  assertCode(() => utf8Decode(Uint8Array.of(0xc0, 0xaf)), 'UTF8_MALFORMED'); // overlong '/'
  assertCode(() => utf8Decode(Uint8Array.of(0xed, 0xa0, 0x80)), 'UTF8_MALFORMED'); // encoded surrogate
  assert.equal(utf8Decode(Uint8Array.of(0xef, 0xbb, 0xbf, 0x41)), '\ufeffA');
});

test('utf8Encode refuses unpaired surrogates instead of replacing them', () => {
  assertCode(() => utf8Encode('a\ud800'), 'UTF8_MALFORMED');
  assertCode(() => utf8Encode('\udc00a'), 'UTF8_MALFORMED');
  assert.deepEqual(utf8Encode('\ud83d\ude00'), Uint8Array.of(0xf0, 0x9f, 0x98, 0x80));
});
