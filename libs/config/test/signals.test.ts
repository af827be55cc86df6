import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHILD_MS_MAX = 10_000;
const signalsModule = new URL('../src/signals.js', import.meta.url).href;

// A process that stops on signals; its stop resolves, rejects or never ends (env STOP).
const CHILD = `
import { stopOnSignals } from ${JSON.stringify(signalsModule)};
const stops = {
  ok: () => new Promise((resolve) => setTimeout(resolve, 20)),
  fail: () => Promise.reject(new Error('boom')),
  hang: () => new Promise(() => undefined),
};
stopOnSignals({
  name: 'child',
  stop: stops[process.env.STOP],
  stop_ms_max: Number(process.env.STOP_MS_MAX),
  onSignal: (signal) => console.log('stopping on ' + signal),
});
setInterval(() => undefined, 1000);
console.log('ready');
`;

async function run(stop: string, stopMsMax: number, signals: readonly NodeJS.Signals[]): Promise<{ code: number | null; out: string; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-signals-'));
  const file = join(dir, 'child.mjs');
  writeFileSync(file, CHILD);
  try {
    return await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [file], { env: { ...process.env, STOP: stop, STOP_MS_MAX: String(stopMsMax) }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let sentAt = 0;
      const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_MS_MAX);
      const take = (chunk: Buffer): void => {
        out += chunk.toString('utf8');
        if (sentAt === 0 && out.includes('ready\n')) {
          sentAt = Date.now();
          for (const signal of signals) child.kill(signal);
        }
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      child.once('error', reject);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out, ms: Date.now() - sentAt });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a finished graceful stop exits 0 after saying why it stops', async () => {
  const r = await run('ok', 5_000, ['SIGTERM']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /stopping on SIGTERM/);
});

test('a failed stop exits 1 and says so', async () => {
  const r = await run('fail', 5_000, ['SIGINT']);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /stopping on SIGINT[^]*child: stop failed[^]*boom/);
});

test('a stop that overruns its bound exits 1 near the bound', async () => {
  const r = await run('hang', 300, ['SIGTERM']);
  assert.equal(r.code, 1, r.out);
  assert.ok(r.ms >= 250 && r.ms < CHILD_MS_MAX - 1_000, `exited after ${r.ms} ms`);
});

test('a second signal exits 130 at once', async () => {
  const r = await run('hang', 8_000, ['SIGTERM', 'SIGINT']);
  assert.equal(r.code, 130, r.out);
  assert.ok(r.ms < 5_000, `exited after ${r.ms} ms`);
});
