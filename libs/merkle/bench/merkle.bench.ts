// Hashing and verification throughput per hasher, beside raw node:crypto SHA-256 calls measured
// in the same run (machines are noisy: only the ratios travel). Not a test; bounded in time.
//   npm run bench            (in libs/merkle, after npm run build)
import { hash as cryptoHash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
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

/**
 * Each figure alternates short slices of the measured call and of its raw crypto.hash baseline,
 * so both see the same machine load (others share this box); the ratio is the median of the
 * per-round ratios. 20 figures x ROUNDS x 2 x SLICE_MS => about 16 s of measurement.
 */
const ROUNDS = 16;
const SLICE_MS = 25;
/** Calls per timing check, so the clock is not what we measure. */
const CALLS_PER_CHECK = 128;
/** Upper bound on calls per slice, whatever the machine. */
const SLICE_CALLS_MAX = 5_000_000;
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

/** Calls per second of `run(i)` over one slice. */
function slice(run: (i: number) => unknown, budgetMs: number): number {
  const start = performance.now();
  let calls = 0;
  while (calls < SLICE_CALLS_MAX) {
    for (let i = 0; i < CALLS_PER_CHECK; i += 1) run(calls + i);
    calls += CALLS_PER_CHECK;
    if (performance.now() - start >= budgetMs) break;
  }
  return (calls * 1000) / (performance.now() - start);
}

const median = (values: number[]): number => {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

interface Figure {
  perSecond: number;
  ratio: number;
  baselinePerSecond: number;
}

/** Median rate of `run` and median ratio to `baseline`, measured in alternating slices. */
function measure(run: (i: number) => unknown, baseline: () => unknown): Figure {
  slice(run, SLICE_MS / 2);
  slice(baseline, SLICE_MS / 2);
  const rates: number[] = [];
  const bases: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const base = slice(baseline, SLICE_MS);
    const rate = slice(run, SLICE_MS);
    rates.push(rate);
    bases.push(base);
    ratios.push(rate / base);
  }
  return { perSecond: median(rates), ratio: median(ratios), baselinePerSecond: median(bases) };
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
const show = (f: Figure): string => fmt(f.perSecond) + `${f.ratio.toFixed(2)}x`.padStart(7);

async function main(): Promise<void> {
  const hashers = [nobleHasher, await createWasmHasher(), createNodeCryptoHasher()];
  const leafData = pseudoRandomBytes(LEAF_BYTES, 7);
  const nodeInput = pseudoRandomBytes(65, 9);
  const left = pseudoRandomBytes(32, 11);
  const right = pseudoRandomBytes(32, 13);

  const leafInput = pseudoRandomBytes(LEAF_BYTES + 1, 15);
  const baseNode = (): unknown => cryptoHash('sha256', nodeInput, 'buffer');
  const baseLeaf = (): unknown => cryptoHash('sha256', leafInput, 'buffer');

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

  console.log(`@cairn/merkle bench: node ${process.version}, ${cpus()[0]?.model ?? 'cpu?'} x${cpus().length}, load ${loadavg()[0]?.toFixed(2)}`);
  const base65 = measure(baseNode, baseNode);
  const base129 = measure(baseLeaf, baseLeaf);
  console.log(`baseline crypto.hash('sha256'): ${fmt(base65.perSecond)} calls/s on 65 B, ${fmt(base129.perSecond)} calls/s on ${LEAF_BYTES + 1} B`);
  console.log(
    `proofs: ${TREE_LEAVES.toLocaleString('en-US')}-leaf tree, inclusion ${meanLength(inclusion).toFixed(1)} hashes, consistency ${meanLength(consistency).toFixed(1)} hashes (mean)`,
  );
  console.log(`ratio = median over ${ROUNDS} rounds of figure / raw crypto.hash calls/s on the same input size, measured in`);
  console.log('alternating slices (65 B baseline for node, append and verification; 129 B for leaf)');
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
    const leaf = measure(() => hasher.leaf(leafData), baseLeaf);
    const node = measure(() => hasher.node(left, right), baseNode);
    const pair = measure(() => hasher.node(hasher.leaf(leafData), right), baseNode);
    const range = CompactRange.empty(hasher);
    const append = measure((i) => range.append(tree.leaves[i % TREE_LEAVES] as Uint8Array), baseNode);
    const inc = measure((i) => {
      const p = inclusion[i % PROOFS] as (typeof inclusion)[number];
      verifyInclusion(p.leaf, p.index, p.size, p.proof, p.root, hasher);
    }, baseNode);
    const con = measure((i) => {
      const p = consistency[i % PROOFS] as (typeof consistency)[number];
      verifyConsistency(p.size1, p.size2, p.proof, p.root1, p.root2, hasher);
    }, baseNode);
    console.log(hasher.name.padEnd(12) + [leaf, node, pair, append, inc, con].map(show).join(''));
  }
}

await main();
