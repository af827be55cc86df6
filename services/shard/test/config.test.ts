import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { configDefaults, loadConfig, numberSettings, parseListen, ShardError, storageLimitsForShard, usage } from '../src/index.js';
import { resolveLimits } from '@cairn/storage';

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

test('metrics_listen is off by default; host:port is parsed, anything else refused', () => {
  assert.equal(loadConfig({}, []).metrics_listen, '');
  assert.equal(parseListen(''), undefined);
  assert.deepEqual(parseListen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen('localhost:65535'), { host: 'localhost', port: 65_535 });
  assert.equal(loadConfig({ CAIRN_SHARD_METRICS_LISTEN: '127.0.0.1:1' }, []).metrics_listen, '127.0.0.1:1');
  assert.equal(loadConfig({ CAIRN_SHARD_METRICS_LISTEN: '127.0.0.1:1' }, ['--metrics-listen=0.0.0.0:2']).metrics_listen, '0.0.0.0:2');
  for (const bad of ['127.0.0.1', ':9464', '127.0.0.1:', '127.0.0.1:65536', '127.0.0.1:99999', 'a b:1', '::1:80', 'host:-1', 'http://x:1']) {
    assert.throws(() => loadConfig({}, [`--metrics-listen=${bad}`]), isConfigError, bad);
  }
  assert.throws(() => loadConfig({}, ['--metrics-connections-max=0']), isConfigError);
});

test('the store takes every page size the shard may ask for (history_versions_max)', () => {
  const shard = numberSettings.find((s) => s.key === 'history_versions_max');
  assert.ok(shard !== undefined);
  assert.ok(resolveLimits(storageLimitsForShard).history_versions_max >= shard.max, 'a history page above the store limit is refused as input');
});
