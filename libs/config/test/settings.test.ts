import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkSettings, configDefaults, envName, flagName, readConfig, usage, type ConfigSpec } from '../src/index.js';

interface Demo {
  readonly url: string;
  readonly token: string;
  readonly port: number;
  readonly batch_age_ms_max: number;
}

class DemoError extends Error {
  readonly code = 'DEMO_CONFIG';
}

const spec: ConfigSpec<Demo> = {
  strings: [
    { key: 'url', pattern: /^nats:\/\/\S+$/, default: 'nats://127.0.0.1:4222', help: 'server URL' },
    { key: 'token', pattern: /^(T\S+)?$/, default: '', help: 'a secret token', secret: true },
  ],
  numbers: [
    { key: 'port', min: 0, max: 65_535, default: 8080, help: 'port' },
    { key: 'batch_age_ms_max', min: 0, max: 1_000, default: 2, help: 'age' },
  ],
  env_names: { port: 'CAIRN_DEMO_PORT' },
  error: (message) => new DemoError(message),
};

const isDemoError = (pattern: RegExp) => (e: unknown): boolean => e instanceof DemoError && e.code === 'DEMO_CONFIG' && pattern.test(e.message);

function load(env: Record<string, string>, argv: readonly string[], s: ConfigSpec<Demo> = spec): Demo {
  const c = readConfig(s, env, argv);
  checkSettings(s, c);
  return c;
}

test('names: CAIRN_<KEY> unless overridden; flags are the key with dashes', () => {
  assert.equal(envName(spec, 'batch_age_ms_max'), 'CAIRN_BATCH_AGE_MS_MAX');
  assert.equal(envName(spec, 'port'), 'CAIRN_DEMO_PORT');
  assert.equal(flagName('batch_age_ms_max'), '--batch-age-ms-max');
});

test('defaults come from the table and pass their own checks', () => {
  const d = configDefaults(spec);
  assert.deepEqual(d, { url: 'nats://127.0.0.1:4222', token: '', port: 8080, batch_age_ms_max: 2 });
  checkSettings(spec, d);
});

test('flags win over env vars, env vars over defaults, overrides over all; an empty env var is unset', () => {
  assert.equal(load({ CAIRN_DEMO_PORT: '9000' }, []).port, 9000);
  assert.equal(load({ CAIRN_DEMO_PORT: '9000' }, ['--port=9001']).port, 9001);
  assert.equal(load({ CAIRN_DEMO_PORT: '9000' }, ['--port', '9002']).port, 9002);
  assert.equal(load({ CAIRN_DEMO_PORT: '' }, []).port, 8080);
  assert.equal(load({ CAIRN_PORT: '9000' }, []).port, 8080);
  assert.equal(readConfig(spec, {}, ['--port=9001'], { port: 7 }).port, 7);
  assert.equal(load({ CAIRN_URL: 'nats://a:1' }, ['--url=nats://b:2']).url, 'nats://b:2');
});

test('bad input is the spec\'s typed error with a message naming the setting', () => {
  assert.throws(() => load({}, ['--nope=1']), isDemoError(/^unknown flag --nope \(see --help\)$/));
  assert.throws(() => load({}, ['--port']), isDemoError(/^flag --port needs a value$/));
  assert.throws(() => load({}, ['--port=-1']), isDemoError(/^port must be a non-negative integer, got "-1"$/));
  assert.throws(() => load({}, ['--port=1e3']), isDemoError(/^port must be a non-negative integer/));
  assert.throws(() => load({}, ['--port=65536']), isDemoError(/^port must be an integer in \[0, 65535\], got 65536$/));
  assert.throws(() => load({ CAIRN_URL: 'http://x' }, []), isDemoError(/^url "http:\/\/x" is malformed \(server URL\)$/));
});

test('a secret is never shown in an error', () => {
  assert.throws(() => load({ CAIRN_TOKEN: 'not-a-token' }, []), (e: unknown) => e instanceof DemoError && /token \(secret\) is malformed/.test(e.message) && !e.message.includes('not-a-token'));
});

test('digits_max bounds the digits read before the range check', () => {
  const bounded = { ...spec, digits_max: 3 };
  assert.equal(load({}, ['--batch-age-ms-max=999'], bounded).batch_age_ms_max, 999);
  assert.throws(() => load({}, ['--batch-age-ms-max=0001'], bounded), isDemoError(/must be a non-negative integer/));
  assert.equal(load({}, ['--batch-age-ms-max=0001']).batch_age_ms_max, 1);
});

test('any integer in range is read back exactly; any outside is refused', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2_000 }), (n) => {
      const argv = [`--batch-age-ms-max=${n}`];
      if (n <= 1_000) assert.equal(load({}, argv).batch_age_ms_max, n);
      else assert.throws(() => load({}, argv), isDemoError(/batch_age_ms_max must be an integer in \[0, 1000\]/));
    }),
  );
});

test('usage lists every setting in fixed columns', () => {
  const text = usage(spec, { title: 'demo: a test', widths: [20, 20, 10], empty_default: '""' });
  const lines = text.split('\n');
  assert.equal(lines[0], 'demo: a test');
  assert.equal(lines.length, 3 + 4);
  assert.equal(lines[4], `  ${'--token'.padEnd(20)} ${'CAIRN_TOKEN'.padEnd(20)} ${'""'.padEnd(10)} a secret token`);
  assert.equal(lines[5], `  ${'--port'.padEnd(20)} ${'CAIRN_DEMO_PORT'.padEnd(20)} ${'8080'.padEnd(10)} port`);
  assert.ok(usage(spec, { title: 't', widths: [0, 0, 0] }).includes('--token CAIRN_TOKEN  a secret token'));
});
