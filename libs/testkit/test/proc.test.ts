import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Proc, repoRoot, runNode, serviceEntry, tempDir, until } from '../src/index.js';

// A child that prints its readiness line with a number from its env, then idles; on SIGTERM it
// prints a goodbye (so stop() is graceful), unless told to ignore SIGTERM (so stop() must kill).
const CHILD = `
process.stdout.write('ready ' + process.env.CHILD_N + '\\n');
process.on('SIGTERM', () => {
  if (process.env.CHILD_STUBBORN === '1') return;
  process.stdout.write('bye\\n');
  process.exit(0);
});
setInterval(() => undefined, 1000);
`;

function childFile(): { file: string; remove: () => void } {
  const dir = tempDir('proc-test');
  const file = join(dir.path, 'child.mjs');
  writeFileSync(file, CHILD);
  return { file, remove: () => dir.remove() };
}

test('a proc is ready on its line; a restart matches only new output and keeps the old', async () => {
  const { file, remove } = childFile();
  const proc = new Proc('child', file, { CHILD_N: '7' }, /ready ([0-9]+)/);
  try {
    assert.equal((await proc.start())[1], '7');
    assert.ok(proc.running);
    await proc.stop();
    assert.ok(!proc.running);
    assert.match(proc.output, /ready 7\nbye\n$/);
    proc.env['CHILD_N'] = '8';
    assert.equal((await proc.start())[1], '8');
    assert.match(proc.output, /ready 7[^]*ready 8/);
  } finally {
    await proc.kill();
    remove();
  }
});

test('kill is a crash: no goodbye; stop and kill of a stopped proc do nothing', async () => {
  const { file, remove } = childFile();
  const proc = new Proc('child', file, { CHILD_N: '1' }, /ready/);
  try {
    await proc.start();
    await proc.kill();
    assert.equal(proc.child?.signalCode, 'SIGKILL');
    assert.doesNotMatch(proc.output, /bye/);
    await proc.stop();
    await proc.kill();
  } finally {
    remove();
  }
});

test('a proc that exits before its readiness line fails at once with its output', async () => {
  const dir = tempDir('proc-test');
  const file = join(dir.path, 'fail.mjs');
  writeFileSync(file, "process.stderr.write('no config\\n'); process.exit(3);");
  const started = Date.now();
  try {
    await assert.rejects(new Proc('failing', file, {}, /ready/).start(), /failing not ready \(exit 3\):\nno config/);
    assert.ok(Date.now() - started < 10_000);
  } finally {
    dir.remove();
  }
});

test('until returns the first value and times out naming what it waited for', async () => {
  let calls = 0;
  assert.equal(await until('three calls', 5_000, async () => (++calls >= 3 ? calls : undefined)), 3);
  await assert.rejects(until('never', 100, async () => undefined), /timed out after 100 ms waiting for never/);
});

test('service entries are the built dist files under services/', () => {
  assert.equal(serviceEntry('shard'), join(repoRoot(), 'services', 'shard', 'dist', 'src', 'main.js'));
  assert.equal(serviceEntry('proof', 'cli'), join(repoRoot(), 'services', 'proof', 'dist', 'src', 'cli.js'));
});

test('runNode collects output and exit code, drops env by prefix, and kills at its bound', async () => {
  const dir = tempDir('run-test');
  const file = join(dir.path, 'env.mjs');
  writeFileSync(file, "console.log(process.argv[2], process.env.CAIRN_RUN_X ?? '-', process.env.OTHER_RUN_X ?? '-'); console.error('err'); process.exit(Number(process.argv[3]));");
  const hang = join(dir.path, 'hang.mjs');
  writeFileSync(hang, 'setInterval(() => undefined, 1000);');
  const env = { CAIRN_RUN_X: 'c', OTHER_RUN_X: 'o' };
  try {
    // stdout and stderr are two pipes: their relative order is not fixed.
    const first = await runNode(file, ['a', '4'], { env });
    assert.equal(first.code, 4);
    assert.deepEqual(first.out.split('\n').sort(), ['', 'a c o', 'err']);
    process.env['CAIRN_RUN_X'] = 'inherited';
    assert.match((await runNode(file, ['b', '0'])).out, /^b inherited -$/m);
    assert.match((await runNode(file, ['b', '0'], { drop_env_prefix: 'CAIRN_' })).out, /^b - -$/m);
    assert.deepEqual(await runNode(hang, [], { ms_max: 200 }), { code: null, out: '' });
  } finally {
    delete process.env['CAIRN_RUN_X'];
    dir.remove();
  }
});
