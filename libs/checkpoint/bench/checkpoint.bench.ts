// Signing and opening checkpoints, beside raw @noble/curves Ed25519 calls measured in the same run.
// Figures are ratios against that baseline; the machine is noisy, so absolute rates are indicative only.
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  formatCheckpoint,
  generateKeyPair,
  openCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
} from '../src/index.js';

const BENCH_MS_PER_CASE = 1_000;
const BENCH_ITERATIONS_MAX = 1_000_000;

function rate(run: () => void): number {
  for (let i = 0; i < 20; i += 1) run(); // warm-up
  const start = performance.now();
  let n = 0;
  while (n < BENCH_ITERATIONS_MAX && performance.now() - start < BENCH_MS_PER_CASE) {
    run();
    n += 1;
  }
  return (n * 1000) / (performance.now() - start);
}

const pair = generateKeyPair('example.com/log', new Uint8Array(32).fill(1));
const signer = parseSignerKey(pair.signerKey);
const verifier = parseVerifierKey(pair.verifierKey);
const checkpoint = { origin: 'example.com/log', size: 123_456_789, rootHash: new Uint8Array(32).fill(2) };
const body = new TextEncoder().encode(formatCheckpoint(checkpoint));
const rawSig = ed25519.sign(body, signer.seed);
const note = signCheckpoint(checkpoint, [signer]);

const rawSign = rate(() => ed25519.sign(body, signer.seed));
const rawVerify = rate(() => ed25519.verify(rawSig, body, verifier.publicKey, { zip215: false }));
const sign = rate(() => signCheckpoint(checkpoint, [signer]));
const open = rate(() => openCheckpoint(note, [verifier]));

const line = (name: string, perSecond: number, baseline: number): string =>
  `${name.padEnd(36)} ${perSecond.toFixed(0).padStart(8)} /s   ${(perSecond / baseline).toFixed(2)}x raw`;
console.log(`node ${process.version}, ${BENCH_MS_PER_CASE} ms per case`);
console.log(line('raw ed25519.sign (baseline)', rawSign, rawSign));
console.log(line('signCheckpoint (1 signer)', sign, rawSign));
console.log(line('raw ed25519.verify (baseline)', rawVerify, rawVerify));
console.log(line('openCheckpoint (1 signature)', open, rawVerify));
