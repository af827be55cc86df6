import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { TransportErrorCode, claimStream, claimSubject, isTransportError, streamLayout } from '../src/index.js';
import { LIMIT, dec, enc, rig } from './helpers.js';

const keyOf = (s: string): string => createHash('sha256').update(s).digest('hex');

test('a claim is created once; a second create is WRONG_LAST_SEQUENCE and stores nothing', LIMIT, async () => {
  const r = await rig(2);
  try {
    await r.transport.ensureClaimStream();
    await r.transport.ensureClaimStream(); // verifying an existing one is fine
    const key = keyOf('order-1');
    assert.equal(await r.transport.readClaim(key), undefined, 'nothing claimed yet');
    const ack = await r.transport.createClaim(key, enc('first'));
    assert.equal(ack.stream, claimStream(r.layout));
    await assert.rejects(r.transport.createClaim(key, enc('second')), (err: unknown) => {
      assert.ok(isTransportError(err, TransportErrorCode.WRONG_LAST_SEQUENCE), String(err));
      assert.equal(err.details.server_err_code, 10071);
      return true;
    });
    const held = await r.transport.readClaim(key);
    assert.equal(held?.seq, ack.seq);
    assert.equal(dec(held?.data ?? new Uint8Array()), 'first');
    const info = await (await jetstreamManager(r.transport.nc)).streams.info(claimStream(r.layout));
    assert.equal(info.state.messages, 1);
  } finally {
    await r.close();
  }
});

test('of concurrent creators of one claim exactly one wins; distinct claims pipeline', LIMIT, async () => {
  const r = await rig(2);
  try {
    await r.transport.ensureClaimStream();
    const key = keyOf('contended');
    const racers = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => r.transport.createClaim(key, enc(`c${i}`))));
    const won = racers.flatMap((x, i) => (x.status === 'fulfilled' ? [i] : []));
    assert.equal(won.length, 1);
    for (const x of racers) if (x.status === 'rejected') assert.ok(isTransportError(x.reason, TransportErrorCode.WRONG_LAST_SEQUENCE));
    assert.equal(dec((await r.transport.readClaim(key))?.data ?? new Uint8Array()), `c${won[0]}`);
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => r.transport.createClaim(keyOf(`k${i}`), enc(String(i)))));
    assert.equal(new Set(many.map((a) => a.seq)).size, 200);
    const back = await Promise.all(Array.from({ length: 200 }, (_, i) => r.transport.readClaim(keyOf(`k${i}`))));
    assert.deepEqual(back.map((m) => dec(m?.data ?? new Uint8Array())), Array.from({ length: 200 }, (_, i) => String(i)));
  } finally {
    await r.close();
  }
});

test('a claim stream with other settings is refused with STREAM_MISMATCH; bad keys are BAD_INPUT', LIMIT, async () => {
  const r = await rig(2);
  try {
    const jsm = await jetstreamManager(r.transport.nc);
    await jsm.streams.add({ name: claimStream(r.layout), subjects: [`${r.layout.subject_prefix}.claim.*`], max_msgs_per_subject: 5 });
    await assert.rejects(r.transport.ensureClaimStream(), (err: unknown) => isTransportError(err, TransportErrorCode.STREAM_MISMATCH));
    assert.throws(() => claimSubject(streamLayout({ shard_count: 1 }), 'order-1'), (err: unknown) => isTransportError(err, TransportErrorCode.BAD_INPUT));
    await assert.rejects(r.transport.readClaim('ABC'), (err: unknown) => isTransportError(err, TransportErrorCode.BAD_INPUT));
  } finally {
    await r.close();
  }
});

test('claims as one create-only batch: all stored, or none when any key is taken', LIMIT, async () => {
  const r = await rig(2);
  try {
    await r.transport.ensureClaimStream();
    const jsm = await jetstreamManager(r.transport.nc);
    const stored = async (): Promise<number> => (await jsm.streams.info(claimStream(r.layout))).state.messages;
    const fresh = Array.from({ length: 50 }, (_, i) => ({ key_hex: keyOf(`b${i}`), data: enc(`v${i}`) }));
    const ack = await r.transport.createClaims(fresh);
    assert.equal(ack.count, 50);
    assert.equal(dec((await r.transport.readClaim(keyOf('b7')))?.data ?? new Uint8Array()), 'v7');
    const mixed = [{ key_hex: keyOf('new-1'), data: enc('n') }, { key_hex: keyOf('b3'), data: enc('other') }];
    await assert.rejects(r.transport.createClaims(mixed), (err: unknown) => isTransportError(err, TransportErrorCode.WRONG_LAST_SEQUENCE));
    const twice = [{ key_hex: keyOf('new-2'), data: enc('a') }, { key_hex: keyOf('new-2'), data: enc('b') }];
    await assert.rejects(r.transport.createClaims(twice), (err: unknown) => isTransportError(err, TransportErrorCode.WRONG_LAST_SEQUENCE));
    assert.equal(await stored(), 50, 'a refused batch stores none of its claims');
    assert.equal(await r.transport.readClaim(keyOf('new-1')), undefined);
    assert.equal(dec((await r.transport.readClaim(keyOf('b3')))?.data ?? new Uint8Array()), 'v3');
    await assert.rejects(r.transport.createClaims([]), (err: unknown) => isTransportError(err, TransportErrorCode.BAD_INPUT));
  } finally {
    await r.close();
  }
});
