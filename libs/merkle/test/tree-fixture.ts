import { leafHash, nodeHash, type Hasher, type NodeId } from '../src/index.js';
import { leafData } from './helpers.js';

/**
 * A tree of `size` distinct leaves with every perfect subtree hash precomputed level by level
 * (pairing, independent of the code under test), so that storage-style plans can be answered.
 */
export class TreeFixture {
  readonly leaves: Uint8Array[];
  readonly levels: Uint8Array[][];

  constructor(size: number, hasher?: Hasher) {
    this.leaves = Array.from({ length: size }, (_, i) => leafHash(leafData(i), hasher));
    this.levels = [this.leaves];
    for (let below = this.leaves; below.length > 1; ) {
      const above: Uint8Array[] = [];
      for (let i = 0; i + 1 < below.length; i += 2) above.push(nodeHash(below[i] as Uint8Array, below[i + 1] as Uint8Array, hasher));
      this.levels.push(above);
      below = above;
    }
  }

  node(id: NodeId): Uint8Array {
    const hash = this.levels[id.level]?.[id.index];
    if (hash === undefined) throw new Error(`fixture has no node ${id.level}/${id.index}`);
    return hash;
  }
}
