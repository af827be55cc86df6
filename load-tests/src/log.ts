// The run log: what the ledger told the load generator. Only this is held against the ledger
// afterwards: an acknowledged transaction is a promise, a refused one is a promise that nothing of
// it was written, an uncertain one promises nothing until it is resolved.
import type { Receipt, TransactionInput } from '@cairn/wire';

/** A transaction sent with a client id (every transaction of the load has one, so it can be resent). */
export type SentTx = TransactionInput & { readonly id: string };

/** What an acknowledged transaction did, in the scenario's terms; the checker tallies these. */
export type Effect =
  | { readonly kind: 'stock_init'; readonly sku: string; readonly qty: number }
  | { readonly kind: 'checkout'; readonly sku: string; readonly units: number }
  | { readonly kind: 'mint'; readonly token: string; readonly owner: string }
  | { readonly kind: 'transfer'; readonly token: string; readonly from: string; readonly to: string; readonly expected_version: number };

export interface Ack {
  readonly tx: SentTx;
  readonly receipt: Receipt;
  readonly effect: Effect;
}

export interface Refusal {
  readonly tx: SentTx;
  readonly status: number;
  readonly code: string;
}

export interface Uncertain {
  readonly tx: SentTx;
  readonly effect: Effect;
  readonly code: string;
}

export class RunLog {
  readonly acks: Ack[] = [];
  readonly refused: Refusal[] = [];
  /** Transactions with no deciding answer yet; resolved (resent with the same id) after the load. */
  uncertain: Uncertain[] = [];
  readonly skus: string[] = [];
  readonly tokens: string[] = [];

  /** The version the receipt gave `key`; undefined when the receipt does not name it. */
  static versionOf(ack: Ack, key: string): number | undefined {
    return ack.receipt.records.find((r) => r.key === key)?.version;
  }

  /** The value the transaction sent for `key`. */
  static valueOf(tx: SentTx, key: string): unknown {
    return tx.records.find((r) => r.key === key)?.value;
  }
}
