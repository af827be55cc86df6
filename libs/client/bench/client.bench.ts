// Verifications per second of a full `get` answer (signature, state-log inclusion, global-state
// decode, record inclusion, value/meta hashes, leaf re-encoding, key and shard checks) from a
// pre-fetched answer, beside raw SHA-256 and raw Ed25519 verify measured in the same run.
// Tree sizes are realistic: a shard of 2^20 leaves and a state log of 2^16 epochs, so both
// inclusion proofs have full length. Not a test; figures are ratios against the same-run baselines.
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64Encode, generateKeyPair, parseSignerKey, parseVerifierKey, signCheckpoint } from '@cairn/checkpoint';
import { createWasmHasher, nobleHasher, type Hasher } from '@cairn/merkle';
import { canonicalJsonBytes, encodeGlobalState, encodeLeaf, shardOfKey, type LeafEntry } from '@cairn/wire';
import { createVerifyContext, verifyKeyAnswer } from '../src/index.js';

/** Each case runs in ROUNDS short slices, interleaved with the others, and reports its median: on a
 * shared, noisy machine that keeps a burst of someone else's load from landing on one case only. */
const BENCH_MS_PER_SLICE = 300;
const BENCH_ROUNDS = 7;
const BENCH_ITERATIONS_MAX = 5_000_000;
const SHARD_LEAVES = 2 ** 20;
const STATE_LEAVES = 2 ** 16;
const SHARDS = 16;

function slice(run: () => void): number {
  const start = performance.now();
  let n = 0;
  while (n < BENCH_ITERATIONS_MAX && performance.now() - start < BENCH_MS_PER_SLICE) {
    run();
    n += 1;
  }
  return (n * 1000) / (performance.now() - start);
}

/** Median per-second rate of every case, measured in interleaved rounds. */
function rates(cases: readonly (() => void)[]): number[] {
  for (const run of cases) for (let i = 0; i < 50; i += 1) run(); // warm-up
  const samples: number[][] = cases.map(() => []);
  for (let round = 0; round < BENCH_ROUNDS; round += 1) cases.forEach((run, i) => samples[i]?.push(slice(run)));
  return samples.map((s) => [...s].sort((a, b) => a - b)[Math.floor(s.length / 2)] as number);
}

/**
 * Root and inclusion proof of leaf `index` in a tree whose other leaves are filler. The tree is a
 * power of two here, so the proof is one sibling per level; siblings are computed once per level
 * from a filler subtree hash (all filler leaves equal), which keeps set-up at O(log n).
 */
function proofInPerfectTree(leaf: Uint8Array, index: number, size: number, hasher: Hasher): { root: Uint8Array; proof: Uint8Array[] } {
  const filler: Uint8Array[] = [hasher.leaf(new Uint8Array([0xee]))];
  for (let level = 1; 2 ** level <= size; level += 1) filler.push(hasher.node(filler[level - 1] as Uint8Array, filler[level - 1] as Uint8Array));
  let hash = leaf;
  let position = index;
  const proof: Uint8Array[] = [];
  for (let level = 0; 2 ** level < size; level += 1) {
    const sibling = filler[level] as Uint8Array;
    proof.push(sibling);
    hash = position % 2 === 1 ? hasher.node(sibling, hash) : hasher.node(hash, sibling);
    position = Math.floor(position / 2);
  }
  return { root: hash, proof };
}

const origin = 'bench.cairn.example/cluster';
const pair = generateKeyPair('cairn-bench', new Uint8Array(32).fill(5));
const signer = parseSignerKey(pair.signerKey);
const key = '{shop42}:order:1001';
const shardCount = SHARDS;
const shard = shardOfKey(key, shardCount);
const value = canonicalJsonBytes({ status: 'paid', total: 12_999, items: [{ sku: 'nft-7', qty: 1 }] });
const meta = canonicalJsonBytes({ by: 'checkout', trace: 'a'.repeat(32) });
const sha = nobleHasher.sha256;
const entry: LeafEntry = { txId: 'order-1001-pay', key, version: 3, valueHash: sha(value), metaHash: sha(meta) };
const leafIndex = SHARD_LEAVES - 1;
const record = proofInPerfectTree(nobleHasher.leaf(encodeLeaf(entry)), leafIndex, SHARD_LEAVES, nobleHasher);
const heads = Array.from({ length: shardCount }, (_, i) => (i === shard ? { size: SHARD_LEAVES, root: record.root } : { size: 1000 + i, root: sha(new Uint8Array([i])) }));
const epoch = STATE_LEAVES;
const stateBytes = encodeGlobalState({ origin, epoch, cut: 9_876_543, shards: heads });
const stateEntry: LeafEntry = { txId: `epoch-${epoch}`, key: 'cairn/state', version: epoch, valueHash: sha(stateBytes), metaHash: sha(new TextEncoder().encode('{}')) };
const state = proofInPerfectTree(nobleHasher.leaf(encodeLeaf(stateEntry)), epoch - 1, STATE_LEAVES, nobleHasher);
const note = signCheckpoint({ origin, size: STATE_LEAVES, rootHash: state.root }, [signer]);
const ej = (e: LeafEntry): object => ({ txId: e.txId, key: e.key, version: e.version, valueHash: base64Encode(e.valueHash), metaHash: base64Encode(e.metaHash) });
const answerText = JSON.stringify({
  checkpoint: note,
  state: { index: epoch - 1, bytes: base64Encode(stateBytes), entry: ej(stateEntry), inclusion: state.proof.map(base64Encode) },
  record: { shard, leafIndex, entry: ej(entry), value: base64Encode(value), erased: false, meta: base64Encode(meta), inclusion: record.proof.map(base64Encode) },
});
const answer: unknown = JSON.parse(answerText);

const noble = createVerifyContext({ verifierKey: pair.verifierKey, origin, cacheNotes: false });
const cached = createVerifyContext({ verifierKey: pair.verifierKey, origin });
const wasm = createVerifyContext({ verifierKey: pair.verifierKey, origin, hasher: await createWasmHasher(), cacheNotes: false });
verifyKeyAnswer(answer, noble, key); // must verify before it is measured
verifyKeyAnswer(answer, wasm, key);

const verifier = parseVerifierKey(pair.verifierKey);
const body = new TextEncoder().encode(note.slice(0, note.indexOf('\n\n') + 1));
const rawSig = ed25519.sign(body, signer.seed);
const block = new Uint8Array(65).fill(7);

const [sha256Rate = 0, ed25519Rate = 0, chainRate = 0, chainParsedRate = 0, chainWasmRate = 0, chainCachedRate = 0] = rates([
  () => nobleHasher.sha256(block),
  () => ed25519.verify(rawSig, body, verifier.publicKey, { zip215: false }),
  () => verifyKeyAnswer(answer, noble, key),
  () => verifyKeyAnswer(JSON.parse(answerText), noble, key),
  () => verifyKeyAnswer(answer, wasm, key),
  () => verifyKeyAnswer(answer, cached, key),
]);

const hashes = state.proof.length + record.proof.length;
const fmt = (n: number): string => n.toFixed(0).padStart(10);
console.log(`client verification bench (node ${process.version}, median of ${BENCH_ROUNDS} interleaved ${BENCH_MS_PER_SLICE} ms slices); shard of ${SHARD_LEAVES} leaves, state log of ${STATE_LEAVES} epochs, ${shardCount} shards, ${hashes} proof hashes per answer`);
console.log(`  raw SHA-256, 65 bytes (noble)             ${fmt(sha256Rate)} /s`);
console.log(`  raw Ed25519 verify (noble)                ${fmt(ed25519Rate)} /s`);
console.log(`  full get-chain verify, default hasher     ${fmt(chainRate)} /s   = ${(chainRate / ed25519Rate).toFixed(2)} x Ed25519 verify rate; ${(sha256Rate / chainRate).toFixed(0)} SHA-256 calls' time`);
console.log(`  ... including JSON.parse of the answer    ${fmt(chainParsedRate)} /s   = ${(chainParsedRate / ed25519Rate).toFixed(2)} x Ed25519 verify rate`);
console.log(`  same, checkpoint note already verified    ${fmt(chainCachedRate)} /s   = ${(chainCachedRate / chainRate).toFixed(1)} x the full chain; ${(sha256Rate / chainCachedRate).toFixed(0)} SHA-256 calls' time`);
console.log(`  full get-chain verify, wasm hasher        ${fmt(chainWasmRate)} /s   = ${(chainWasmRate / chainRate).toFixed(2)} x default hasher`);
