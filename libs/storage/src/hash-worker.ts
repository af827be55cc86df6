// Entry point of the hashing pool's workers (piscina loads dist/src/hash-worker.js). Piscina calls
// the export named by the pool's `name` option.
export { hashRecords } from './hash-task.js';
