/* eslint no-bitwise: "error" */
import { createSHA256 } from 'hash-wasm';
import { HashScratch, type Hasher } from './hasher.js';

/**
 * A hasher over hash-wasm's SHA-256: faster than pure JS for the 65-byte node inputs that
 * dominate tree work, and still browser-safe. Creation is async (it instantiates WebAssembly);
 * every call afterwards is synchronous. Each hasher owns one WASM instance, so keep one per
 * thread rather than one per call.
 */
export async function createWasmHasher(): Promise<Hasher> {
  const wasm = await createSHA256();
  const scratch = new HashScratch();
  const digest = (data: Uint8Array): Uint8Array => wasm.init().update(data).digest('binary');
  return {
    name: 'wasm',
    sha256: digest,
    leaf(data) {
      const prefixed = scratch.fillLeaf(data);
      if (prefixed !== undefined) return digest(prefixed);
      return wasm.init().update(scratch.leaf.subarray(0, 1)).update(data).digest('binary');
    },
    node: (left, right) => digest(scratch.fillNode(left, right)),
  };
}
