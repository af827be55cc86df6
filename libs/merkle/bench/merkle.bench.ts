// Hashing and verification throughput per hasher, beside raw node:crypto SHA-256 calls measured
// in the same run (machines are noisy: only the ratios travel). Not a test; bounded in time.
//   npm run bench            (in libs/merkle, after npm run build)
import { hash as cryptoHash } from 'node:crypto';
import { cpus } from 'node:os';
import {
  CompactRange,
  consistencyPlan,
  createWasmHasher,
  inclusionPlan,
  nobleHasher,
  rehashProof,
  rootPlan,
  foldRoot,
  verifyConsistency,
  verifyInclusion,
  type Hasher,
  type NodeId,
} from '../src/index.js';
import { HashScratch } from '../src/hasher.js';

/** Time spent on one figure; warm-up is a tenth of it. 16 figures => about 10 s in all. */
const MEASURE_MS = 500;
/** Calls per timing check, so the clock is not what we measure. */
const CALLS_PER_CHECK = 256;
/** Upper bound on calls per figure, whatever the machine. */
const CALLS_MAX = 50_000_000;
/** Leaf input size: about one encoded ledger record. */
const LEAF_BYTES = 128;
/** Tree built once for the proofs: proofs are ~17 hashes long, as in a 100k-leaf shard. */
const TREE_LEAVES = 2 ** 17 - 3;
const PROOFS = 256;

/** Defined here, not in src: src must stay browser-safe. */
function createNodeCryptoHasher(): Hasher {
  const scratch = new HashScratch();
  const digest = (data: Uint8Array): Uint8Array => cryptoHash('sha256', data, 'buffer');
  return {
    name: 'node:crypto',
    sha256: digest,
    leaf(data) {
      const prefixed = scratch.fillLeaf(data);
      if (prefixed === undefined) throw new Error('bench leaf too large');
      return digest(prefixed);
    },
    node: (left, right) => digest(scratch.fillNode(left, right)),
  };
}

/** Calls per second of `run(i)`, for MEASURE_MS after a short warm-up. */
function rate(run: (i: number) => unknown): number {
  const measure = (budgetMs: number): number => {
    const start = performance.now();
    let calls = 0;
    while (calls < CALLS_MAX) {
      for (let i = 0; i < CALLS_PER_CHECK; i += 1) run(calls + i);
      calls += CALLS_PER_CHECK;
      if (performance.now() - start >= budgetMs) break;
    }
    return (calls * 1000) / (performance.now() - start);
  };
  measure(MEASURE_MS / 10);
  return measure(MEASURE_MS);
}

function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed;
  for (let i = 0; i < length; i += 1) {
    state = (state * 1103515245 + 12345) % 2147483648;
    bytes[i] = Math.floor(state / 8388608);
  }
  return bytes;
}

interface Fixture {
  leaves: Uint8Array[];
  levels: Uint8Array[][];
}

function buildTree(hasher: Hasher): Fixture {
  const leaves = Array.from({ length: TREE_LEAVES }, (_, i) => hasher.leaf(pseudoRandomBytes(LEAF_BYTES, i + 1)));
  const levels = [leaves];
  for (let below = leaves; below.length > 1; ) {
    const above: Uint8Array[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) above.push(hasher.node(below[i] as Uint8Array, below[i + 1] as Uint8Array));
    levels.push(above);
    below = above;
  }
  return { leaves, levels };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(12);
const ratio = (n: number, base: number): string => `${(n / base).toFixed(2)}x`.padStart(7);

async function main(): Promise<void> {
  const hashers = [nobleHasher, await createWasmHasher(), createNodeCryptoHasher()];
  const leafData = pseudoRandomBytes(LEAF_BYTES, 7);
  const nodeInput = pseudoRandomBytes(65, 9);
  const left = pseudoRandomBytes(32, 11);
  const right = pseudoRandomBytes(32, 13);

  const baseNode = rate(() => cryptoHash('sha256', nodeInput, 'buffer'));
  const leafInput = pseudoRandomBytes(LEAF_BYTES + 1, 15);
  const baseLeaf = rate(() => cryptoHash('sha256', leafInput, 'buffer'));

  const tree = buildTree(nobleHasher);
  const at = (id: NodeId): Uint8Array => tree.levels[id.level]?.[id.index] as Uint8Array;
  const rootAt = (size: number): Uint8Array => foldRoot(rootPlan(size).map(at));
  const inclusion = Array.from({ length: PROOFS }, (_, i) => {
    const size = TREE_LEAVES - (i % 7);
    const index = (i * 7919) % size;
    const plan = inclusionPlan(index, size);
    return { index, size, proof: rehashProof(plan, plan.nodes.map(at)), root: rootAt(size), leaf: tree.leaves[index] as Uint8Array };
  });
  const consistency = Array.from({ length: PROOFS }, (_, i) => {
    const size2 = TREE_LEAVES - (i % 7);
    const size1 = 1 + ((i * 104729) % (size2 - 1));
    const plan = consistencyPlan(size1, size2);
    return { size1, size2, proof: rehashProof(plan, plan.nodes.map(at)), root1: rootAt(size1), root2: rootAt(size2) };
  });
  const meanLength = (list: { proof: Uint8Array[] }[]): number => list.reduce((s, p) => s + p.proof.length, 0) / list.length;

  console.log(`@cairn/merkle bench: node ${process.version}, ${cpus()[0]?.model ?? 'cpu?'} x${cpus().length}, ${MEASURE_MS} ms per figure`);
  console.log(`baseline crypto.hash('sha256'): ${fmt(baseNode)} calls/s on 65 B, ${fmt(baseLeaf)} calls/s on ${LEAF_BYTES + 1} B`);
  console.log(
    `proofs: ${TREE_LEAVES.toLocaleString('en-US')}-leaf tree, inclusion ${meanLength(inclusion).toFixed(1)} hashes, consistency ${meanLength(consistency).toFixed(1)} hashes (mean)`,
  );
  console.log('ratio = figure / raw crypto.hash calls/s on the same input size (65 B for node, append and verification)');
  console.log(
    'hasher'.padEnd(12) +
      `leaf(${LEAF_BYTES}B)/s`.padStart(12) + '  ratio' +
      'node/s'.padStart(13) + '  ratio' +
      'leaf+node/s'.padStart(13) + '  ratio' +
      'append/s'.padStart(13) + '  ratio' +
      'incl.verif/s'.padStart(13) + '  ratio' +
      'cons.verif/s'.padStart(13) + '  ratio',
  );
  for (const hasher of hashers) {
    const leaf = rate(() => hasher.leaf(leafData));
    const node = rate(() => hasher.node(left, right));
    const pair = rate(() => hasher.node(hasher.leaf(leafData), right));
    const range = CompactRange.empty(hasher);
    const append = rate((i) => range.append(tree.leaves[i % TREE_LEAVES] as Uint8Array));
    const inc = rate((i) => {
      const p = inclusion[i % PROOFS] as (typeof inclusion)[number];
      verifyInclusion(p.leaf, p.index, p.size, p.proof, p.root, hasher);
    });
    const con = rate((i) => {
      const p = consistency[i % PROOFS] as (typeof consistency)[number];
      verifyConsistency(p.size1, p.size2, p.proof, p.root1, p.root2, hasher);
    });
    console.log(
      hasher.name.padEnd(12) +
        fmt(leaf) + ratio(leaf, baseLeaf) +
        fmt(node) + ratio(node, baseNode) +
        fmt(pair) + ratio(pair, baseNode) +
        fmt(append) + ratio(append, baseNode) +
        fmt(inc) + ratio(inc, baseNode) +
        fmt(con) + ratio(con, baseNode),
    );
  }
}

await main();
