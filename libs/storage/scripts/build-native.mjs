// Builds native/hash.c into native/build/cairn_hash.node with the machine's C compiler and the
// Node-API and OpenSSL headers that ship with node. The addon is optional: when there is no
// compiler or no headers this prints why and exits 0, and the store hashes with node:crypto
// (same bytes, slower; docs/design/storage.md, "Native hashing"). Idempotent: rebuilds only when
// the source is newer than the addon. CAIRN_NATIVE_HASH=0 skips the build.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'hash.c');
const output = join(root, 'native', 'build', 'cairn_hash.node');

function headerDir() {
  const candidates = [join(dirname(dirname(process.execPath)), 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
  return candidates.find((dir) => existsSync(join(dir, 'node_api.h')) && existsSync(join(dir, 'openssl', 'sha.h')));
}

function main() {
  if (process.env.CAIRN_NATIVE_HASH === '0') return console.log('native hashing: skipped (CAIRN_NATIVE_HASH=0)');
  if (process.platform !== 'linux') return console.log(`native hashing: not built on ${process.platform}; node:crypto hashes`);
  if (existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs) return console.log('native hashing: up to date');
  const include = headerDir();
  if (include === undefined) return console.log('native hashing: no node headers with OpenSSL found; node:crypto hashes');
  const cc = process.env.CC ?? 'cc';
  mkdirSync(dirname(output), { recursive: true });
  try {
    // OpenSSL's symbols resolve against the node binary at load time: nothing is linked in.
    execFileSync(cc, ['-O2', '-fPIC', '-shared', '-Wall', '-Wextra', '-Werror', `-I${include}`, source, '-o', output], { stdio: 'inherit' });
    console.log(`native hashing: built ${output}`);
  } catch (error) {
    console.log(`native hashing: ${cc} failed (${error.message}); node:crypto hashes`);
  }
}

main();
