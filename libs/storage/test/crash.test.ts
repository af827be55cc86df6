import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { verifyConsistency, verifyInclusion, type Hasher } from '@cairn/merkle';
import { encodeLeaf } from '@cairn/wire';
import { createNodeHasher, openStore, type KvBinding, type Store } from '../src/index.js';
import { bindingsUnderTest, crashBatch, prng, tempDir } from './helpers.js';

const writerPath = fileURLToPath(new URL('./crash-writer.js', import.meta.url));
/** Total kill rounds across bindings; CAIRN_CRASH_ROUNDS overrides. */
const ROUNDS_TOTAL = Number(process.env['CAIRN_CRASH_ROUNDS'] ?? 24);
/** The whole test stops starting rounds after this, whatever ROUNDS_TOTAL says. */
const TEST_MS_MAX = 60_000;
const KILL_DELAY_MS_MIN = 20;
const KILL_DELAY_MS_MAX = 700;
const WRITER_OPEN_MS_MAX = 20_000;

interface RoundOutcome {
  /** Highest seq the writer reported committed (its synced write had returned). */
  readonly acknowledged: number;
  readonly opened: number;
}

/** Appends the writer keeps issued in odd rounds, so kills also land while batches are pipelined. */
const PIPELINE_WINDOW = 3;

/** Starts the writer, kills it with SIGKILL `delayMs` after it opened the store, and reports. */
function runWriter(dir: string, binding: KvBinding, delayMs: number, window: number): Promise<RoundOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writerPath, '--crash-writer', dir, String(window)], {
      env: { ...process.env, CAIRN_ROCKSDB_BINDING: binding },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let acknowledged = -1;
    let opened = -1;
    let buffered = '';
    let stderr = '';
    const openTimer = setTimeout(() => child.kill('SIGKILL'), WRITER_OPEN_MS_MAX);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [word, number] = line.split(' ');
        if (word === 'committed') acknowledged = Number(number);
        if (word === 'open') {
          opened = Number(number);
          clearTimeout(openTimer);
          setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(openTimer);
      if (signal !== 'SIGKILL' || opened < 0) reject(new Error(`writer exited ${code} ${signal}: ${stderr}`));
      else resolve({ acknowledged: Math.max(acknowledged, opened), opened });
    });
  });
}

async function advance(reference: Store, seq: number): Promise<void> {
  for (let s = reference.head().seq + 1; s <= seq; s += 1) await reference.append(crashBatch(s));
}

async function checkProofs(store: Store, previous: { size: number; root: Uint8Array }, seed: number, hasher: Hasher): Promise<void> {
  const { size, root } = store.head();
  if (size === 0) return;
  const random = prng(seed);
  for (let i = 0; i < 3; i += 1) {
    const index = Math.floor(random() * size);
    const leaf = await store.leaf(index);
    verifyInclusion(hasher.leaf(encodeLeaf(leaf.entry)), index, size, await store.inclusionProof(index, size), root);
  }
  if (previous.size > 0) verifyConsistency(previous.size, size, await store.consistencyProof(previous.size, size), previous.root, root);
}

for (const binding of bindingsUnderTest()) {
  const rounds = Math.ceil(ROUNDS_TOTAL / bindingsUnderTest().length);
  test(`kill -9 mid-commit (${binding}): the store always reopens at a whole-batch boundary`, async () => {
    const started = Date.now();
    const victim = tempDir(`crash-${binding}`);
    const model = tempDir(`crash-model-${binding}`);
    const hasher = createNodeHasher();
    const reference = await openStore({ dir: model.dir, binding, pool: false });
    const random = prng(binding === 'classic' ? 2 : 1);
    let previous: { size: number; root: Uint8Array } = { size: 0, root: new Uint8Array(32) };
    let acknowledgedMax = 0;
    let completed = 0;
    try {
      for (let round = 0; round < rounds && Date.now() - started < TEST_MS_MAX; round += 1) {
        const delay = KILL_DELAY_MS_MIN + Math.floor(random() * (KILL_DELAY_MS_MAX - KILL_DELAY_MS_MIN));
        const window = round % 2 === 0 ? 1 : PIPELINE_WINDOW;
        const outcome = await runWriter(victim.dir, binding, delay, window);
        acknowledgedMax = Math.max(acknowledgedMax, outcome.acknowledged);
        const store = await openStore({ dir: victim.dir, binding, pool: false });
        try {
          const head = store.head();
          // Durable: everything acknowledged survived. Atomic: only batches that were in flight
          // (at most `window`) can have landed beyond it: writes run one at a time and in order,
          // but a pipelined writer busy hashing the next batch may not have printed the
          // acknowledgement of a write that already landed. And the state equals the state
          // after exactly head.seq batches.
          assert.ok(head.seq >= acknowledgedMax, `seq ${head.seq} lost acknowledged ${acknowledgedMax}`);
          assert.ok(head.seq <= outcome.acknowledged + window, `seq ${head.seq} beyond ${outcome.acknowledged} + ${window}`);
          await advance(reference, head.seq);
          assert.deepEqual(head, reference.head(), `round ${round}: not the state after ${head.seq} whole batches`);
          if (head.size > 0) {
            // The newest leaf, value and key-index entry are there, not only the head.
            const last = await store.leaf(head.size - 1);
            assert.deepEqual(last, await reference.leaf(head.size - 1));
            assert.deepEqual(await store.latest(last.entry.key), await reference.latest(last.entry.key));
            assert.deepEqual(await store.inclusionProof(head.size - 1, head.size), await reference.inclusionProof(head.size - 1, head.size));
          }
          for (const key of ['key:0', 'key:17', 'key:499']) {
            assert.deepEqual((await store.latest(key))?.entry, (await reference.latest(key))?.entry);
          }
          await checkProofs(store, previous, round, hasher);
          previous = { size: head.size, root: head.root };
        } finally {
          await store.close();
        }
        completed += 1;
      }
      assert.ok(completed >= Math.min(rounds, 8), `only ${completed} rounds ran`);
      assert.ok(acknowledgedMax > 0, 'the writer never committed anything');
    } finally {
      await reference.close();
      victim.cleanup();
      model.cleanup();
    }
  });
}
