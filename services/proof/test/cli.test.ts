// The cairn CLI and the proof service's refusal to start without what it needs (no cluster).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openCheckpoint, parseSignerKey, parseVerifierKey, signCheckpoint } from '@cairn/checkpoint';
import { runNode, tempDir, type RunResult } from '@cairn/testkit';
import { ConfigError, loadConfig, loadSigner } from '../src/index.js';
import { cliMain, proofMain } from './cluster.js';

const RUN_MS_MAX = 20_000;

function run(file: string, args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runNode(file, args, { env, drop_env_prefix: 'CAIRN_', ms_max: RUN_MS_MAX });
}

test('cairn keygen prints a signer key and a verifier key that sign and verify', async () => {
  const { code, out } = await run(cliMain, ['keygen', '--name', 'shop.example/ledger']);
  assert.equal(code, 0, out);
  const signerText = out.split('\n').find((l) => l.startsWith('PRIVATE+KEY+')) as string;
  const verifierText = out.split('\n').find((l) => l.startsWith('shop.example/ledger+')) as string;
  const signer = parseSignerKey(signerText);
  const verifier = parseVerifierKey(verifierText);
  assert.equal(signer.name, 'shop.example/ledger');
  const note = signCheckpoint({ origin: 'shop.example/ledger', size: 1, rootHash: new Uint8Array(32) }, [signer]);
  assert.equal(openCheckpoint(note, [verifier]).checkpoint.size, 1);
});

test('cairn keygen --out writes a private key file (0600) and a public one, never overwriting', async () => {
  const dir = tempDir('keygen');
  try {
    const base = join(dir.path, 'cluster');
    const first = await run(cliMain, ['keygen', '--name', 'c1', '--out', base]);
    assert.equal(first.code, 0, first.out);
    assert.ok(existsSync(`${base}.key`) && existsSync(`${base}.pub`));
    assert.equal(statSync(`${base}.key`).mode & 0o777, 0o600);
    const signer = loadSigner(loadConfig({}, ['--origin', 'c1', '--signer-key-file', `${base}.key`]));
    assert.equal(signer.name, 'c1');
    assert.equal(parseVerifierKey(readFileSync(`${base}.pub`, 'utf8').trim()).keyId, signer.keyId);
    const again = await run(cliMain, ['keygen', '--name', 'c1', '--out', base]);
    assert.notEqual(again.code, 0, 'a second keygen must not replace the key');
  } finally {
    dir.remove();
  }
});

test('cairn without a known command prints usage; keygen without --name fails', async () => {
  assert.equal((await run(cliMain, [])).code, 0);
  assert.equal((await run(cliMain, ['nope'])).code, 2);
  const noName = await run(cliMain, ['keygen']);
  assert.equal(noName.code, 1);
  assert.match(noName.out, /--name/);
  const badAudit = await run(cliMain, ['audit', '--origin', 'x']);
  assert.equal(badAudit.code, 2);
});

test('the proof service refuses to start without a signer key, with a wrong one, or with bad settings', async () => {
  const none = await run(proofMain, []);
  assert.equal(none.code, 1);
  assert.match(none.out, /no signer key.*CAIRN_SIGNER_KEY/);
  const key = (await run(cliMain, ['keygen', '--name', 'other'])).out.split('\n').find((l) => l.startsWith('PRIVATE+KEY+')) as string;
  const wrongName = await run(proofMain, [], { CAIRN_SIGNER_KEY: key, CAIRN_ORIGIN: 'mine' });
  assert.equal(wrongName.code, 1);
  assert.match(wrongName.out, /named "other" but the origin is "mine"/);
  assert.ok(!wrongName.out.includes(key.slice(12)), 'the key is never printed');
  const badInterval = await run(proofMain, ['--epoch-interval-ms', '1'], { CAIRN_SIGNER_KEY: key, CAIRN_ORIGIN: 'other' });
  assert.equal(badInterval.code, 1);
  assert.match(badInterval.out, /epoch_interval_ms/);
  assert.throws(() => loadConfig({}, ['--bogus', '1']), ConfigError);
  assert.throws(() => loadSigner(loadConfig({ CAIRN_SIGNER_KEY: 'PRIVATE+KEY+x+00000000+AAAA' }, [])), ConfigError);
});
