// HTTPS for the services' HTTP servers: a certificate and its key from files, both or neither.
// Without them a service speaks plain HTTP (a TLS-terminating proxy in front, or loopback); with
// them it serves HTTPS itself, so that API keys and answers are not readable on the wire.
import { createServer as createHttp, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { readSettingFile } from './files.js';

export interface TlsFiles {
  /** PEM text. */
  readonly cert: string;
  readonly key: string;
}

/** The PEM certificate (chain) and key, read and checked as a pair at start; undefined when neither is set. */
export function readTlsFiles(certFile: string, keyFile: string, error: (message: string) => Error): TlsFiles | undefined {
  if (certFile === '' && keyFile === '') return undefined;
  if (certFile === '' || keyFile === '') throw error('tls_cert_file and tls_key_file go together: set both or neither');
  const files = { cert: readSettingFile(certFile, 'tls_cert_file', error), key: readSettingFile(keyFile, 'tls_key_file', error) };
  try {
    // Parses both and checks that the key is the certificate's: a mismatch fails here, not at the first client.
    createSecureContext(files);
  } catch (cause) {
    throw error(`tls_cert_file and tls_key_file are not a usable certificate and key: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  return files;
}

/** A PEM CA certificate (for verifying a server, e.g. the broker's), read and parsed at start; '' for no file. */
export function readCaFile(path: string, what: string, error: (message: string) => Error): string {
  if (path === '') return '';
  const pem = readSettingFile(path, what, error);
  try {
    createSecureContext({ ca: pem });
    new X509Certificate(pem);
  } catch (cause) {
    throw error(`${what} ${path} is not a PEM certificate: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
  return pem;
}

/** node:http's createServer, or node:https's with the certificate when `tls` is given; same handler, same options. */
export function createHttpServer<Response extends typeof ServerResponse<IncomingMessage>>(
  tls: TlsFiles | undefined,
  options: ServerOptions<typeof IncomingMessage, Response>,
  handler: (req: IncomingMessage, res: InstanceType<Response>) => void,
): Server {
  if (tls === undefined) return createHttp(options, handler) as unknown as Server;
  // https.Server is a tls.Server carrying http.Server's request handling: the callers use only that.
  return createHttps({ ...options, cert: tls.cert, key: tls.key }, handler) as unknown as Server;
}
