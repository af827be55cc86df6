import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CompactRange, MerkleError, MerkleErrorCode, createWasmHasher, rootHash, rootPlan, type NodeId } from '../src/index.js';
import { TreeFixture } from './tree-fixture.js';
import { toHex } from './helpers.js';

const LEAVES = 600;
const fixture = new TreeFixture(LEAVES);
const isCode = (code: MerkleErrorCode) => (e: unknown) => e instanceof MerkleError && e.code === code;

describe('CompactRange', () => {
  test('root after every append equals the reference root, for both hashers', async () => {
    for (const range of [CompactRange.empty(), CompactRange.empty(await createWasmHasher())]) {
      assert.equal(toHex(range.root()), toHex(rootHash([])));
      fixture.leaves.forEach((leaf, i) => {
        range.append(leaf);
        assert.equal(range.size, i + 1);
        assert.equal(toHex(range.root()), toHex(rootHash(fixture.leaves.slice(0, i + 1))), `size ${i + 1}`);
      });
    }
  });

  test('visit reports every perfect subtree exactly once, when completed, with its hash', () => {
    const range = CompactRange.empty();
    const seen = new Set<string>();
    fixture.leaves.forEach((leaf, i) => {
      const visited: NodeId[] = [];
      range.append(leaf, (id, hash) => {
        const key = `${id.level}/${id.index}`;
        assert.ok(!seen.has(key), `node ${key} reported twice`);
        seen.add(key);
        visited.push(id);
        assert.equal(toHex(hash), toHex(fixture.node(id)), `node ${key}`);
        assert.equal((id.index + 1) * 2 ** id.level, i + 1, `node ${key} is completed by leaf ${i}`);
      });
      assert.deepEqual(visited.map((id) => id.level), visited.map((_, level) => level), 'levels ascend from the leaf');
    });
    const expected = fixture.levels.reduce((sum, level) => sum + level.length, 0);
    assert.equal(seen.size, expected);
  });

  test('hashes are the rootPlan subtrees, and fromState restores an equal range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: LEAVES - 1 }), fc.integer({ min: 1, max: 50 }), (size, more) => {
        const range = CompactRange.empty();
        for (const leaf of fixture.leaves.slice(0, size)) range.append(leaf);
        assert.deepEqual(range.hashes.map(toHex), rootPlan(size).map((id) => toHex(fixture.node(id))));
        const restored = CompactRange.fromState(size, range.hashes);
        for (const leaf of fixture.leaves.slice(size, size + more)) {
          range.append(leaf);
          restored.append(leaf);
        }
        assert.equal(restored.size, range.size);
        assert.equal(toHex(restored.root()), toHex(range.root()));
      }),
      { numRuns: 100 },
    );
  });

  test('clone is independent of the original, and hashes is a copy', () => {
    const range = CompactRange.empty();
    for (const leaf of fixture.leaves.slice(0, 5)) range.append(leaf);
    const before = toHex(range.root());
    const copy = range.clone();
    copy.append(fixture.leaves[5] as Uint8Array);
    assert.equal(range.size, 5);
    assert.equal(toHex(range.root()), before);
    range.hashes.pop();
    assert.equal(range.hashes.length, 2);
    assert.equal(toHex(copy.root()), toHex(rootHash(fixture.leaves.slice(0, 6))));
  });

  test('the range does not alias buffers the caller may reuse', () => {
    const buffer = (fixture.leaves[0] as Uint8Array).slice();
    const range = CompactRange.empty();
    range.append(buffer);
    const restored = CompactRange.fromState(1, [buffer]);
    const expected = toHex(rootHash([fixture.leaves[0] as Uint8Array]));
    buffer.fill(0);
    (range.hashes[0] as Uint8Array).fill(0);
    assert.equal(toHex(range.root()), expected);
    assert.equal(toHex(restored.root()), expected);
  });

  test('fromState rejects a wrong number of hashes, a bad length, or a bad size', () => {
    const hash = fixture.leaves[0] as Uint8Array;
    assert.throws(() => CompactRange.fromState(3, [hash]), isCode(MerkleErrorCode.BadState));
    assert.throws(() => CompactRange.fromState(4, [hash, hash]), isCode(MerkleErrorCode.BadState));
    assert.throws(() => CompactRange.fromState(0, [hash]), isCode(MerkleErrorCode.BadState));
    assert.throws(() => CompactRange.fromState(1, [hash.subarray(1)]), isCode(MerkleErrorCode.BadHashLength));
    assert.throws(() => CompactRange.fromState(-1, []), isCode(MerkleErrorCode.BadInteger));
    assert.throws(() => CompactRange.fromState(1.5, [hash]), isCode(MerkleErrorCode.BadInteger));
    assert.throws(() => CompactRange.fromState(2 ** 53, [hash]), isCode(MerkleErrorCode.BadInteger));
    assert.throws(() => CompactRange.empty().append(new Uint8Array(33)), isCode(MerkleErrorCode.BadHashLength));
  });
});
