import type { NodeId } from '@cairn/merkle';
import { corrupt, tileKey } from './layout.js';

// Tree nodes are stored in tiles like tlog tiles: a tile of row R holds the perfect subtrees of
// levels 8R .. 8R+7 under one node of level 8R+8, i.e. up to 256 nodes of level 8R and all their
// ancestors inside the tile (510 hashes when full). Storing the inner levels too (twice the bytes
// of a tlog tile) means a proof never re-hashes: each node is one slot of one tile read.
// A stored tile is u16 width (nodes of level 8R present, 1..256) then, for r = 0..7, the
// floor(width / 2^r) hashes of level 8R+r in index order.

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
const HASH = 32;
/** Slots of a full tile: 256 + 128 + ... + 2. */
const TILE_SLOTS = 2 * TILE_WIDTH - 2;

export interface TileSlot {
  readonly row: number;
  readonly tile: number;
  /** Level inside the tile, 0..7. */
  readonly r: number;
  /** Index among the tile's nodes of that level. */
  readonly local: number;
}

export function tileSlot(id: NodeId): TileSlot {
  const row = Math.floor(id.level / TILE_HEIGHT);
  const r = id.level - row * TILE_HEIGHT;
  const perTile = 2 ** (TILE_HEIGHT - r);
  const tile = Math.floor(id.index / perTile);
  return { row, tile, r, local: id.index - tile * perTile };
}

function rowStart(width: number, r: number): number {
  let start = 0;
  for (let s = 0; s < r; s += 1) start += Math.floor(width / 2 ** s);
  return start;
}

/** Nodes of in-tile level r per tile, and where row r starts in a full tile, by r. */
const PER_TILE = Array.from({ length: TILE_HEIGHT }, (_, r) => 2 ** (TILE_HEIGHT - r));
const FULL_ROW_START = Array.from({ length: TILE_HEIGHT }, (_, r) => rowStart(TILE_WIDTH, r));

/** The hash of a slot in a stored tile, or undefined when the tile does not hold it yet. */
export function readTileSlot(bytes: Uint8Array, slot: TileSlot): Uint8Array | undefined {
  if (bytes.length < 2) throw corrupt('tile too short');
  const width = (bytes[0] as number) * 256 + (bytes[1] as number);
  if (width < 1 || width > TILE_WIDTH || bytes.length !== 2 + HASH * rowStart(width, TILE_HEIGHT)) {
    throw corrupt(`tile (${slot.row}, ${slot.tile}) length ${bytes.length} for width ${width}`);
  }
  if (slot.local >= Math.floor(width / 2 ** slot.r)) return undefined;
  const at = 2 + HASH * (rowStart(width, slot.r) + slot.local);
  return bytes.slice(at, at + HASH);
}

/** The rightmost tile of one row while it fills: kept in memory so appends never read a tile back. */
class OpenTile {
  readonly slots = new Uint8Array(TILE_SLOTS * HASH);
  width = 0;
  constructor(
    readonly row: number,
    readonly tile: number,
  ) {}

  set(r: number, local: number, hash: Uint8Array): void {
    // In-memory slots use full row widths; encode() packs them.
    this.slots.set(hash, HASH * ((FULL_ROW_START[r] as number) + local));
    if (r === 0) this.width = local + 1;
  }

  setRun(r: number, local: number, hashes: Uint8Array): void {
    this.slots.set(hashes, HASH * ((FULL_ROW_START[r] as number) + local));
    if (r === 0) this.width = local + hashes.length / HASH;
  }

  encode(): Uint8Array {
    const out = new Uint8Array(2 + HASH * rowStart(this.width, TILE_HEIGHT));
    out[0] = Math.floor(this.width / 256);
    out[1] = this.width % 256;
    let at = 2;
    for (let r = 0; r < TILE_HEIGHT; r += 1) {
      const count = Math.floor(this.width / 2 ** r);
      const from = HASH * rowStart(TILE_WIDTH, r);
      out.set(this.slots.subarray(from, from + HASH * count), at);
      at += HASH * count;
    }
    return out;
  }

  static decode(row: number, tile: number, bytes: Uint8Array): OpenTile {
    const open = new OpenTile(row, tile);
    for (let r = 0; r < TILE_HEIGHT; r += 1) {
      for (let local = 0; local < TILE_WIDTH; local += 1) {
        const hash = readTileSlot(bytes, { row, tile, r, local });
        if (hash === undefined) break;
        open.set(r, local, hash);
      }
    }
    if (open.width === 0) throw corrupt(`tile (${row}, ${tile}) is empty`);
    return open;
  }
}

export interface TileWrite {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/**
 * The open (rightmost) tile of every row. Appends record each completed node; flush() returns the
 * tiles that changed, to go into the batch's write. A tile that fills up is flushed once more and
 * replaced by the next; at most one open tile per row (at most 7 rows for 2^53 leaves).
 */
export class TileWriter {
  readonly #open = new Map<number, OpenTile>();
  readonly #dirty = new Set<OpenTile>();
  /** Tiles putRun() wrote since the last flush, by "row/tile". */
  readonly #touched = new Map<string, OpenTile>();

  /** Loads the open tiles of a tree of `size` leaves from stored tile bytes. */
  static async load(size: number, read: (key: Uint8Array) => Promise<Uint8Array | undefined>): Promise<TileWriter> {
    const writer = new TileWriter();
    for (let row = 0; 2 ** (TILE_HEIGHT * row) <= size; row += 1) {
      const nodes = Math.floor(size / 2 ** (TILE_HEIGHT * row));
      const tile = Math.floor(nodes / TILE_WIDTH);
      if (nodes % TILE_WIDTH === 0) continue;
      const bytes = await read(tileKey(row, tile));
      if (bytes === undefined) throw corrupt(`open tile (${row}, ${tile}) missing`);
      const open = OpenTile.decode(row, tile, bytes);
      // The head and the tiles are written together: any other width means they are not.
      if (open.width !== nodes % TILE_WIDTH) {
        throw corrupt(`open tile (${row}, ${tile}) holds ${open.width} nodes, the head needs ${nodes % TILE_WIDTH}`);
      }
      writer.#open.set(row, open);
    }
    return writer;
  }

  /**
   * Records one node: the NodeVisitor of CompactRange.append, node by node. Appends go through
   * putRun; this is the independent path test/tree-append.test.ts holds putRun to.
   */
  readonly visit = (id: NodeId, hash: Uint8Array): void => {
    const row = Math.floor(id.level / TILE_HEIGHT);
    const r = id.level - row * TILE_HEIGHT;
    const perTile = PER_TILE[r] as number;
    const tile = Math.floor(id.index / perTile);
    let open = this.#open.get(row);
    if (open === undefined || open.tile !== tile) {
      open = new OpenTile(row, tile);
      this.#open.set(row, open);
    }
    open.set(r, id.index - tile * perTile, hash);
    this.#dirty.add(open);
  };

  /**
   * Records `hashes` (32 bytes each) as the nodes of `level` from index `first` on: what visit()
   * does node by node, as one copy per tile the run crosses.
   */
  putRun(level: number, first: number, hashes: Uint8Array): void {
    const count = hashes.length / HASH;
    if (!Number.isSafeInteger(count)) throw new RangeError(`a run of hashes is ${hashes.length} bytes`);
    const row = Math.floor(level / TILE_HEIGHT);
    const r = level - row * TILE_HEIGHT;
    const perTile = PER_TILE[r] as number;
    for (let done = 0; done < count; ) {
      const index = first + done;
      const tile = Math.floor(index / perTile);
      const local = index - tile * perTile;
      const take = Math.min(count - done, perTile - local);
      this.#runTile(row, tile).setRun(r, local, hashes.subarray(HASH * done, HASH * (done + take)));
      done += take;
    }
  }

  /**
   * The tile a run writes to. Runs come a level at a time, so a higher level can reach back to a
   * tile of the row that a lower level already moved past: tiles touched since the last flush
   * are kept until it.
   */
  #runTile(row: number, tile: number): OpenTile {
    const key = `${row}/${tile}`;
    let open = this.#touched.get(key);
    if (open === undefined) {
      const current = this.#open.get(row);
      open = current !== undefined && current.tile === tile ? current : new OpenTile(row, tile);
      this.#touched.set(key, open);
      this.#dirty.add(open);
      if (current === undefined || current.tile < tile) this.#open.set(row, open);
    }
    return open;
  }

  /**
   * Tiles changed since the last flush. A tile is encoded once per batch however many nodes it
   * gained, so a batch costs about one put per 256 leaves for the tree.
   */
  flush(): TileWrite[] {
    const writes: TileWrite[] = [];
    for (const open of this.#dirty) writes.push({ key: tileKey(open.row, open.tile), value: open.encode() });
    this.#dirty.clear();
    this.#touched.clear();
    return writes;
  }
}
