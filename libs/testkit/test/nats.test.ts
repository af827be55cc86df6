import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tcpConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startNatsServer, tempDir } from '../src/index.js';

/** The first line a NATS server sends on a new connection: INFO {json}. */
function readInfo(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let text = '';
    socket.setTimeout(3_000, () => socket.destroy(new Error('no INFO within 3 s')));
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\r\n');
      if (end < 0) return;
      socket.destroy();
      resolve(JSON.parse(text.slice('INFO '.length, end)) as Record<string, unknown>);
    });
    socket.on('error', reject);
  });
}

function alive(pid: number): boolean {
  try {
    // A killed child that nobody reaped yet is a zombie: it no longer runs.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** SIGKILL is delivered asynchronously: allow the kernel a bounded moment to finish the process. */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

test('starts a JetStream server on 127.0.0.1 and an ephemeral port', async () => {
  const server = await startNatsServer();
  try {
    assert.ok(server.port > 0 && server.port !== 4222);
    assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
    const info = await readInfo(server.port);
    assert.equal(info['jetstream'], true);
    assert.equal(info['host'], '127.0.0.1');
    assert.ok(existsSync(server.storeDir));
  } finally {
    await server.stop();
  }
  assert.equal(existsSync(server.storeDir), false, 'stop() removes the temporary store');
});

test('kill then restart keeps the port and the store dir', async () => {
  const server = await startNatsServer();
  try {
    const { port, storeDir } = server;
    const pid = server.pid;
    assert.ok(pid !== undefined);
    await server.kill();
    assert.equal(alive(pid), false);
    assert.equal(server.pid, undefined);
    await assert.rejects(readInfo(port));
    await server.restart();
    assert.equal(server.port, port);
    assert.equal(server.storeDir, storeDir);
    assert.notEqual(server.pid, pid);
    assert.equal((await readInfo(port))['jetstream'], true);
    // restart() of a running server is a graceful stop and start.
    await server.restart();
    assert.equal(server.port, port);
  } finally {
    await server.stop();
  }
});

test('keep_store leaves the store after stop; a second server can reuse it', async () => {
  const first = await startNatsServer({ keep_store: true });
  await first.stop();
  assert.ok(existsSync(first.storeDir));
  const second = await startNatsServer({ store_dir: first.storeDir });
  try {
    assert.equal(second.storeDir, first.storeDir);
  } finally {
    await second.stop();
  }
  assert.ok(existsSync(first.storeDir), 'a caller-owned store dir is never removed');
});

test('a test process that forgets stop() leaks no server', async () => {
  const kit = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const script = `import { startNatsServer } from ${JSON.stringify(kit)};
    const s = await startNatsServer(); console.log(s.pid);`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  const pid = Number(out.trim());
  assert.ok(Number.isSafeInteger(pid) && pid > 0);
  assert.ok(await goneWithin(pid, 2_000), `nats-server ${pid} outlived its test process`);
});

test('tempDir creates a unique directory and removes it', () => {
  const a = tempDir('kit');
  const b = tempDir('kit');
  assert.notEqual(a.path, b.path);
  assert.ok(existsSync(a.path));
  a.remove();
  a.remove();
  assert.equal(existsSync(a.path), false);
  b.remove();
  assert.throws(() => tempDir('../escape'));
});

test('a test process ended by SIGTERM (a runner timeout) leaks no server', async () => {
  const kit = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const script = `import { startNatsServer } from ${JSON.stringify(kit)};
    const s = await startNatsServer(); console.log(s.pid); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    const pid = Number(line.trim());
    assert.ok(alive(pid));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 128 + 15);
    assert.ok(await goneWithin(pid, 2_000), `nats-server ${pid} outlived its test process`);
  } finally {
    clearTimeout(guard);
  }
});
