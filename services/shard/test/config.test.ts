import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { configDefaults, loadConfig, numberSettings, ShardError, usage } from '../src/index.js';

const isConfigError = (e: unknown): boolean => e instanceof ShardError && e.code === 'SHARD_CONFIG';

test('defaults are within their own ranges and resolve the per-shard names', () => {
  for (const s of numberSettings) assert.ok(s.default >= s.min && s.default <= s.max, s.key);
  const c = loadConfig({}, []);
  assert.equal(c.data_dir, resolve('.data/shard-0'));
  assert.equal(c.durable, 'shard-0');
  assert.equal(c.shards, configDefaults().shards);
});

test('flags win over env, env over defaults', () => {
  const c = loadConfig({ CAIRN_SHARD: '1', CAIRN_SHARDS: '4', CAIRN_DATA_DIR: '/tmp/x' }, ['--shard=3', '--merge-msgs-max', '8']);
  assert.equal(c.shard, 3);
  assert.equal(c.shards, 4);
  assert.equal(c.data_dir, '/tmp/x');
  assert.equal(c.merge_msgs_max, 8);
  assert.equal(c.durable, 'shard-3');
});

test('bad settings stop the start with SHARD_CONFIG', () => {
  assert.throws(() => loadConfig({ CAIRN_SHARD: '2', CAIRN_SHARDS: '2' }, []), isConfigError);
  assert.throws(() => loadConfig({}, ['--nope=1']), isConfigError);
  assert.throws(() => loadConfig({}, ['--shards=0']), isConfigError);
  assert.throws(() => loadConfig({}, ['--shards=-1']), isConfigError);
  assert.throws(() => loadConfig({ CAIRN_NATS_URL: 'http://x' }, []), isConfigError);
  assert.throws(() => loadConfig({}, ['--fetch-msgs-max=10', '--merge-msgs-max=20']), isConfigError);
  assert.throws(() => loadConfig({}, ['--fetch-msgs-max=100', '--ack-pending-max=10']), isConfigError);
  assert.throws(() => loadConfig({}, ['--shard']), isConfigError);
});

test('usage lists every setting', () => {
  const text = usage();
  for (const s of numberSettings) assert.ok(text.includes(`--${s.key.replaceAll('_', '-')}`), s.key);
});
