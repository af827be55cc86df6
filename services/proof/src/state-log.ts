// The state log: a @cairn/storage store of its own (same engine, same proofs as a shard), holding
// one transaction per epoch (docs/design/proofs.md): id `epoch-<e>`, one record `cairn/state`
// version e whose value is the global-state bytes, meta `{}`. Its batch sequence is the epoch
// number, so the store's exactly-once rule also makes appending one epoch twice a no-op.
import { createHash } from 'node:crypto';
import { openStore, type Store } from '@cairn/storage';
import {
  STATE_LOG_KEY,
  STATE_LOG_META,
  decodeGlobalState,
  encodeGlobalState,
  stateLogTxId,
  type GlobalState,
  type LeafEntry,
} from '@cairn/wire';

const metaBytes = new TextEncoder().encode(STATE_LOG_META);

export interface StateLogHead {
  /** Number of epochs = tree size. */
  readonly size: number;
  readonly root: Uint8Array;
}

export interface StoredState {
  readonly epoch: number;
  readonly bytes: Uint8Array;
  readonly state: GlobalState;
  readonly entry: LeafEntry;
}

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

export class StateLog {
  readonly #store: Store;
  /** The newest state, kept so an epoch can compare against it without a read. */
  #last: StoredState | undefined;

  private constructor(store: Store, last: StoredState | undefined) {
    this.#store = store;
    this.#last = last;
  }

  static async open(dir: string): Promise<StateLog> {
    // Appends are one tiny record each: hashing inline beats a worker pool's round trip.
    const store = await openStore({ dir, pool: false });
    try {
      const size = store.head().size;
      const last = size === 0 ? undefined : await readState(store, size);
      return new StateLog(store, last);
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  head(): StateLogHead {
    const { size, root } = this.#store.head();
    return { size, root };
  }

  last(): StoredState | undefined {
    return this.#last;
  }

  /** Appends the state of epoch `state.epoch`, which must be the next one. */
  async append(state: GlobalState): Promise<StateLogHead> {
    const size = this.#store.head().size;
    if (state.epoch !== size + 1) throw new Error(`state log: epoch ${state.epoch} is not the next (size ${size})`);
    const bytes = encodeGlobalState(state);
    const result = await this.#store.append({
      seq: state.epoch,
      txs: [{ id: stateLogTxId(state.epoch), contentHash: sha256(bytes), meta: metaBytes, records: [{ key: STATE_LOG_KEY, value: bytes }] }],
    });
    // What the store holds is the truth whatever the checks below say: the next epoch is compared
    // with it, or a state stored despite a failed check would be appended again as a new epoch.
    const stored = this.#store.head().size;
    if (stored > 0) this.#last = await readState(this.#store, stored);
    if (result.skipped || result.txs[0]?.status !== 'committed' || result.head.size !== state.epoch) {
      throw new Error(`state log: epoch ${state.epoch} was not appended as leaf ${state.epoch - 1}`);
    }
    return this.head();
  }

  /** The state of epoch e (1-based), read back and decoded; the entry is what the leaf commits to. */
  state(epoch: number): Promise<StoredState> {
    return readState(this.#store, epoch);
  }

  rootAt(size: number): Promise<Uint8Array> {
    return this.#store.rootAt(size);
  }

  inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    return this.#store.inclusionProof(index, size);
  }

  consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    return this.#store.consistencyProof(size1, size2);
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}

async function readState(store: Store, epoch: number): Promise<StoredState> {
  const leaf = await store.leaf(epoch - 1);
  if (leaf.value === undefined) throw new Error(`state log: the value of epoch ${epoch} is missing`);
  const state = decodeGlobalState(leaf.value);
  // What the store hands back must be what the contract says the leaf is.
  if (state.epoch !== epoch || leaf.entry.version !== epoch || leaf.entry.key !== STATE_LOG_KEY || leaf.entry.txId !== stateLogTxId(epoch)) {
    throw new Error(`state log: leaf ${epoch - 1} does not hold epoch ${epoch}`);
  }
  return { epoch, bytes: leaf.value, state, entry: leaf.entry };
}
