#!/usr/bin/env node
// cairn-proof: reads config (flags > env > defaults), starts, stops gracefully on SIGINT/SIGTERM.
import { runProof } from './run.js';

runProof(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`cairn-proof: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
