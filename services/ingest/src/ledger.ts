// What the gateway needs from the broker, as a narrow port: the gateway's logic (batching, waiting,
// receipts, back-pressure) is tested against it, and the NATS adapter (nats-ledger.ts) is thin.

export interface LedgerMessage {
  readonly shard: number;
  readonly data: Uint8Array;
  // Dedupe id: the broker refuses a repeat within its duplicate window.
  readonly msgId: string;
}

export type PublishResult =
  // Stored whole; message i got stream sequence firstSeq + i.
  | { readonly kind: 'stored'; readonly firstSeq: number }
  // Refused because these dedupe ids were already stored: nothing of this batch was stored now.
  | { readonly kind: 'duplicate' };

export interface LedgerPort {
  // One JetStream atomic batch: every message is stored, or none is. Failures are CairnErrors with
  // code backpressure (broker full), timeout (outcome unknown) or unavailable. The publish timeout
  // is the adapter's (config publish_timeout_ms).
  publishAtomic(messages: readonly LedgerMessage[]): Promise<PublishResult>;
  // Whether the broker connection is up (for /healthz).
  connected(): boolean;
}
