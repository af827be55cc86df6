// The cairn-ingest process: config checked at start, --help, graceful stop on SIGTERM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startNatsServer, type NatsServer } from '@cairn/testkit';

const mainJs = fileURLToPath(new URL('../src/main.js', import.meta.url));
const START_MS_MAX = 15_000;
let nats: NatsServer;

before(async () => {
  nats = await startNatsServer();
});

after(async () => {
  await nats.stop();
});

function run(env: Record<string, string>, args: string[] = []): ReturnType<typeof spawnSync> {
  return spawnSync(process.execPath, [mainJs, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, encoding: 'utf8', timeout: START_MS_MAX });
}

/** The gateway as a process on an ephemeral port against the test's broker, with `env` on top. */
function spawnGateway(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [mainJs], {
    env: { PATH: process.env['PATH'] ?? '', CAIRN_NATS_URL: nats.url, CAIRN_INGEST_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

test('a bad setting stops the start with a message naming it', () => {
  const r = run({ CAIRN_SHARDS: '0', CAIRN_NATS_URL: nats.url });
  assert.equal(r.status, 1);
  assert.match(String(r.stderr), /shards must be an integer in \[1, 1000\], got 0/);
  const flag = run({ CAIRN_NATS_URL: nats.url }, ['--batch-age-ms-max=soon']);
  assert.equal(flag.status, 1);
  assert.match(String(flag.stderr), /batch_age_ms_max/);
});

test('--help lists every setting with its env var and default', () => {
  const r = run({}, ['--help']);
  assert.equal(r.status, 0);
  for (const s of ['CAIRN_NATS_URL', 'CAIRN_SHARDS', 'CAIRN_INGEST_PORT', 'CAIRN_BATCH_TXS_MAX', 'CAIRN_BATCH_AGE_MS_MAX', '--waiters-max']) {
    assert.ok(String(r.stdout).includes(s), `--help lacks ${s}`);
  }
});

function waitFor(child: ChildProcess, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${START_MS_MAX} ms:\n${out}`)), START_MS_MAX);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
  });
}

test('SIGTERM: stops taking requests, answers the open ones, exits 0', async () => {
  const child = spawnGateway({ CAIRN_STREAM: 'MAINTEST', CAIRN_SUBJECT_PREFIX: 'maintest', CAIRN_SHUTDOWN_MS_MAX: '300' });
  try {
    const [, url] = await waitFor(child, /listening on (http:\/\/[0-9.:]+)/);
    // No shard runs: the request waits for a commit that will not come before the stop.
    const open = fetch(`${url}/v1/transactions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'open-1', records: [{ key: 'k', value: 1 }] }) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const res = await open;
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unavailable');
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('workers: several gateway processes share the port, each with its own session', async () => {
  const child = spawnGateway({ CAIRN_INGEST_WORKERS: '2', CAIRN_STREAM: 'WORKERS', CAIRN_SUBJECT_PREFIX: 'workers' });
  try {
    const [, url] = await waitFor(child, /listening on (http:\/\/[0-9.:]+)[^]*listening on \1/);
    const { request } = await import('node:http');
    const post = (): Promise<string> =>
      new Promise((resolve, reject) => {
        // A new connection per request, so the cluster can hand it to either worker.
        const req = request(`${url}/v1/transactions?wait=accepted`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve((JSON.parse(body) as { id: string }).id));
        });
        req.once('error', reject);
        req.end(JSON.stringify({ records: [{ key: 'w', value: 1 }] }));
      });
    const sessions = new Set<string>();
    for (let i = 0; i < 20 && sessions.size < 2; i++) sessions.add((await post()).split('.')[0] ?? '');
    assert.equal(sessions.size, 2, `every answer came from one worker: ${[...sessions].join(',')}`);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('workers: a connection past connections_max is closed at once, not queued in the primary', async () => {
  const child = spawnGateway({ CAIRN_INGEST_WORKERS: '2', CAIRN_CONNECTIONS_MAX: '1', CAIRN_SHUTDOWN_MS_MAX: '300', CAIRN_STREAM: 'CONNMAX', CAIRN_SUBJECT_PREFIX: 'connmax' });
  const { connect } = await import('node:net');
  const sockets: import('node:net').Socket[] = [];
  try {
    const [, url] = await waitFor(child, /listening on (http:\/\/[0-9.:]+)[^]*listening on \1/);
    const { hostname, port } = new URL(url ?? '');
    // Two workers with one slot each: of three idle connections at least one is past a bound.
    let closed = 0;
    for (let i = 0; i < 3; i++) {
      const socket = connect(Number(port), hostname);
      socket.on('error', () => undefined);
      socket.once('close', () => (closed += 1));
      sockets.push(socket);
      await new Promise<void>((resolve) => socket.once('connect', resolve));
    }
    for (let waited = 0; closed === 0 && waited < 3_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    assert.ok(closed >= 1, 'no connection was closed: the refused one is waiting in the primary');
    assert.ok(closed <= 2, 'every connection was closed');
  } finally {
    for (const socket of sockets) socket.destroy();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 5_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    assert.equal(code, 0);
  }
});
