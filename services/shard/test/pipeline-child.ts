// Child process of the pipelining crash test: applies the fixture stream to the store in
// CAIRN_TEST_DIR with appends in flight, printing every commit event's seq as it is published,
// until the parent kills it with SIGKILL. Not a test file (no .test suffix).
import { decodeCommitEvent } from '@cairn/wire';
import { applyInPulls, newApplier, openTestStore, pipelineStream } from './pipeline-fixture.js';

const dir = process.env['CAIRN_TEST_DIR'];
const count = Number(process.env['CAIRN_TEST_MESSAGES']);
if (dir === undefined || !Number.isSafeInteger(count) || count < 1) throw new Error('CAIRN_TEST_DIR and CAIRN_TEST_MESSAGES are required');

const store = await openTestStore(dir);
const applier = newApplier(store, {
  merge: 3,
  inflight: 3,
  publish: (event) => process.stdout.write(`committed ${decodeCommitEvent(event).seq}\n`),
});
process.stdout.write(`ready at ${store.head().seq}\n`);
await applyInPulls(applier, pipelineStream(count), 8);
await applier.drain();
process.stdout.write(`done ${applier.applied} pipelined ${applier.stats.pipelined}\n`);
await store.close();
