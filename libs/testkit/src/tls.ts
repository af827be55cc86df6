// A self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI, for tests of
// the services' HTTPS (the certificate is also the CA a test client trusts).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCert {
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM of the certificate: pass it as `ca` to a client. */
  readonly cert: string;
}

/** Writes cert.pem and key.pem (P-256, valid 2 days) into `dir`; `name` keeps several apart. */
export function selfSignedCert(dir: string, name = 'test'): TestCert {
  const certFile = join(dir, `${name}-cert.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
  );
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8') };
}
