import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { judgeDelivery } from '../src/index.js';

type Step = { kind: 'fresh' } | { kind: 'redeliver'; pick: number } | { kind: 'lose' } | { kind: 'handle' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Step>({ kind: 'fresh' }) },
  { weight: 2, arbitrary: fc.nat().map<Step>((pick) => ({ kind: 'redeliver', pick })) },
  { weight: 1, arbitrary: fc.constant<Step>({ kind: 'lose' }) },
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'handle' }) },
);

/**
 * A model server delivers a subject whose stream sequences grow by random strides, redelivers
 * earlier messages at random and sometimes loses a delivery; the consumer side applies the guard.
 * Properties: what is taken is strictly increasing and never handled twice; without a loss the
 * guard takes exactly the fresh messages in order; a loss is reported as a gap at the very next
 * delivery, before anything after it is taken.
 */
test('property: the delivery guard keeps a shard in stream order and catches every lost delivery', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 200 }), fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 200, maxLength: 200 }), (steps, strides) => {
      const delivered: number[] = [];
      let nextStreamSeq = 1;
      let deliverySeq = 0;
      let expectedDelivery = 1;
      let handledBelow = 1;
      let takenBelow = 1;
      let lost = false;
      const taken: number[] = [];
      const handled = new Set<number>();
      for (const [i, s] of steps.entries()) {
        if (s.kind === 'handle') {
          for (const seq of taken.splice(0)) {
            assert.equal(handled.has(seq), false, `seq ${seq} handled twice`);
            handled.add(seq);
          }
          handledBelow = takenBelow;
          continue;
        }
        let streamSeq: number;
        if (s.kind === 'redeliver') {
          if (delivered.length === 0) continue;
          streamSeq = delivered[s.pick % delivered.length] as number;
        } else {
          streamSeq = nextStreamSeq;
          nextStreamSeq += strides[i] ?? 1;
          delivered.push(streamSeq);
        }
        deliverySeq += 1;
        if (s.kind === 'lose') {
          lost = true; // the server sent it, we never saw it
          continue;
        }
        const verdict = judgeDelivery({ handledBelow, takenBelow, expectedDelivery }, streamSeq, deliverySeq);
        if (lost) {
          assert.equal(verdict, 'gap');
          return; // the real consumer re-creates itself here; the model ends
        }
        assert.notEqual(verdict, 'gap');
        expectedDelivery += 1;
        if (verdict === 'take') {
          assert.ok(streamSeq >= takenBelow);
          assert.equal(s.kind, 'fresh', 'only a fresh message is taken');
          taken.push(streamSeq);
          takenBelow = streamSeq + 1;
        } else {
          assert.equal(s.kind, 'redeliver', 'a fresh message is never dropped');
          assert.equal(verdict === 'ack_and_drop', streamSeq < handledBelow);
        }
      }
      // A loss with nothing delivered after it shows only later (the server redelivers it after
      // ack_wait, under a new delivery sequence, which is then a gap).
      if (lost) return;
      const all = [...handled, ...taken];
      assert.deepEqual(all, [...all].sort((a, b) => a - b));
      assert.deepEqual(all, delivered);
    }),
    { numRuns: 500 },
  );
});
