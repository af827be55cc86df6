/* eslint no-bitwise: "error" */
export { MerkleError, MerkleErrorCode } from './errors.js';
export { HASH_BYTES, LEAF_PREFIX, NODE_PREFIX, LEAF_SCRATCH_BYTES_MAX, nobleHasher, type Hasher } from './hasher.js';
export { createWasmHasher } from './wasm-hasher.js';
export { TREE_SIZE_MAX } from './bits.js';
export { leafHash, nodeHash, emptyRoot } from './hashing.js';
export { rootHash, inclusionProof, consistencyProof } from './tree.js';
export { verifyInclusion, verifyConsistency, rootFromInclusionProof, rootFromConsistencyProof } from './verify.js';
export {
  inclusionPlan,
  consistencyPlan,
  rootPlan,
  rangeNodes,
  nodeCoverage,
  rehashProof,
  foldRoot,
  type NodeId,
  type ProofPlan,
} from './plan.js';
export { CompactRange, type NodeVisitor } from './compact.js';
