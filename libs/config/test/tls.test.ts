import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { selfSignedCert, tempDir } from '@cairn/testkit';
import { createHttpServer, readCaFile, readSecretFile, readTlsFiles } from '../src/index.js';

const configError = (message: string): Error => new Error(`config: ${message}`);

test('readTlsFiles: both files or neither, readable, and a key that is the certificate\'s', () => {
  const dir = tempDir('config-tls');
  try {
    const a = selfSignedCert(dir.path, 'a');
    const b = selfSignedCert(dir.path, 'b');
    assert.equal(readTlsFiles('', '', configError), undefined);
    const files = readTlsFiles(a.certFile, a.keyFile, configError);
    assert.equal(files?.cert.toString(), a.cert);
    assert.throws(() => readTlsFiles(a.certFile, '', configError), /config: tls_cert_file and tls_key_file go together/);
    assert.throws(() => readTlsFiles('', a.keyFile, configError), /go together/);
    assert.throws(() => readTlsFiles(join(dir.path, 'missing.pem'), a.keyFile, configError), /cannot read tls_cert_file .*missing\.pem/);
    assert.throws(() => readTlsFiles(a.certFile, b.keyFile, configError), /not a usable certificate and key/);
    const garbage = join(dir.path, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate');
    assert.throws(() => readTlsFiles(garbage, a.keyFile, configError), /not a usable certificate and key/);
  } finally {
    dir.remove();
  }
});

test('createHttpServer: HTTPS with the files, plain HTTP without, one handler', async () => {
  const dir = tempDir('config-tls');
  const cert = selfSignedCert(dir.path);
  const tls = readTlsFiles(cert.certFile, cert.keyFile, configError);
  const handler = (_req: unknown, res: { end: (body: string) => void }): void => res.end('hello');
  const secure = createHttpServer(tls, {}, handler);
  const plain = createHttpServer(undefined, {}, handler);
  try {
    await Promise.all([secure, plain].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
    const port = (s: typeof secure): number => (s.address() as AddressInfo).port;
    const body = (get: typeof httpsGet, url: string, options: object): Promise<string> =>
      new Promise((resolve, reject) => {
        get(url, options, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
        }).once('error', reject);
      });
    assert.equal(await body(httpsGet, `https://127.0.0.1:${port(secure)}/`, { ca: cert.cert }), 'hello');
    assert.equal(await body(httpGet as typeof httpsGet, `http://127.0.0.1:${port(plain)}/`, {}), 'hello');
    // Not trusted without the CA; and plain HTTP to the TLS port gets no answer it could read.
    await assert.rejects(body(httpsGet, `https://127.0.0.1:${port(secure)}/`, {}), /self-signed|self signed/);
    await assert.rejects(body(httpGet as typeof httpsGet, `http://127.0.0.1:${port(secure)}/`, {}));
  } finally {
    secure.close();
    plain.close();
    dir.remove();
  }
});

test('readSecretFile: one token without its newline; empty, spaced or unreadable files stop the start', () => {
  const dir = tempDir('config-secret');
  try {
    const file = join(dir.path, 'token');
    assert.equal(readSecretFile('', 'nats_token_file', configError), '');
    writeFileSync(file, 's3cret-token\n');
    assert.equal(readSecretFile(file, 'nats_token_file', configError), 's3cret-token');
    for (const bad of ['', '\n', 'two words', 'x'.repeat(5_000)]) {
      writeFileSync(file, bad);
      assert.throws(() => readSecretFile(file, 'nats_token_file', configError), (e: unknown) => e instanceof Error && /must hold one token/.test(e.message) && !e.message.includes('two words'), JSON.stringify(bad.slice(0, 10)));
    }
    assert.throws(() => readSecretFile(join(dir.path, 'missing'), 'nats_token_file', configError), /cannot read nats_token_file/);
  } finally {
    dir.remove();
  }
});

test('readCaFile: a PEM certificate, parsed at start; anything else stops it', () => {
  const dir = tempDir('config-ca');
  try {
    const cert = selfSignedCert(dir.path);
    assert.equal(readCaFile('', 'nats_ca_file', configError), '');
    assert.equal(readCaFile(cert.certFile, 'nats_ca_file', configError), cert.cert);
    assert.throws(() => readCaFile(cert.keyFile, 'nats_ca_file', configError), /nats_ca_file .* is not a PEM certificate/);
    assert.throws(() => readCaFile(join(dir.path, 'missing.pem'), 'nats_ca_file', configError), /cannot read nats_ca_file/);
  } finally {
    dir.remove();
  }
});
