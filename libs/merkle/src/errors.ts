/* eslint no-bitwise: "error" */

/**
 * Stable error codes. They are part of the API: callers and services map them to their own
 * codes, so a code is never renamed or reused (docs/design/merkle.md holds the table).
 */
export const MerkleErrorCode = {
  BadHashLength: 'MERKLE_BAD_HASH_LENGTH',
  BadInteger: 'MERKLE_BAD_INTEGER',
  IndexOutOfRange: 'MERKLE_INDEX_OUT_OF_RANGE',
  SizeOutOfRange: 'MERKLE_SIZE_OUT_OF_RANGE',
  SizeOrder: 'MERKLE_SIZE_ORDER',
  ConsistencyFromZero: 'MERKLE_CONSISTENCY_FROM_ZERO',
  ProofLength: 'MERKLE_PROOF_LENGTH',
  RootMismatch: 'MERKLE_ROOT_MISMATCH',
  PlanMismatch: 'MERKLE_PLAN_MISMATCH',
  BadState: 'MERKLE_BAD_STATE',
  TreeFull: 'MERKLE_TREE_FULL',
} as const;

export type MerkleErrorCode = (typeof MerkleErrorCode)[keyof typeof MerkleErrorCode];

/** Every failure of this package: a stable `code` to branch on, a message for people. */
export class MerkleError extends Error {
  override readonly name = 'MerkleError';
  readonly code: MerkleErrorCode;

  constructor(code: MerkleErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}
