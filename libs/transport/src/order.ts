/**
 * The in-order guard of the shard consumer, as a pure function so that it can be tested against a
 * model. A durable pull consumer numbers every delivery (redeliveries included) with a consecutive
 * delivery sequence; a jump means a delivery was lost, and only re-creating the consumer at the
 * first unhandled stream sequence restores the order.
 */
export interface DeliveryPosition {
  /** Every stream sequence below this was handled (and acked, or its ack was lost). */
  readonly handledBelow: number;
  /** Every stream sequence below this is handled or already in the batch being built. */
  readonly takenBelow: number;
  /** The delivery sequence the next message must carry. */
  readonly expectedDelivery: number;
}

/** take: hand it to the handler; ack_and_drop: handled before; drop: already in this batch; gap: reset. */
export type DeliveryVerdict = 'take' | 'ack_and_drop' | 'drop' | 'gap';

export function judgeDelivery(pos: DeliveryPosition, streamSeq: number, deliverySeq: number): DeliveryVerdict {
  if (deliverySeq !== pos.expectedDelivery) return 'gap';
  if (streamSeq < pos.handledBelow) return 'ack_and_drop';
  if (streamSeq < pos.takenBelow) return 'drop';
  return 'take';
}
