// One scenario from start to verdict: pin the verifier key and read a first signed checkpoint
// (a wrong key or origin fails here, before any load), set up the hot keys, run the closed loop,
// resolve the transactions left without a deciding answer, then check every invariant.
import { CairnClient } from '@cairn/client';
import { createWasmHasher } from '@cairn/merkle';
import { checkRun, type CheckReport } from './check.js';
import { checkoutScenario } from './checkout.js';
import type { LoadOptions, ScenarioName } from './config.js';
import { Budget, closedLoop, send } from './drive.js';
import { LoadError } from './errors.js';
import { JsonPoster } from './http.js';
import { RunLog } from './log.js';
import { nftScenario } from './nft.js';
import { senderOf, type Scenario, type ScenarioContext } from './scenario.js';
import { LoadStats, type StatsSummary } from './stats.js';
import { RecordingStore } from './store.js';

export interface ScenarioResult {
  readonly scenario: ScenarioName;
  readonly options: LoadOptions;
  /** The load phase only (setup and resolution are not in its figures). */
  readonly load: StatsSummary;
  /** Transactions without a deciding answer after the load, and how many of them the resends decided. */
  readonly uncertain_after_load: number;
  readonly resolved: number;
  readonly log: RunLog;
  /** Time the checks took (resolution excluded). */
  readonly check_seconds: number;
  readonly check: CheckReport;
}

export interface RunHooks {
  /** Runs beside the load phase (e.g. kill -9 a shard and restart it); aborted when the load ends. */
  readonly during?: (signal: AbortSignal) => Promise<void>;
}

export function scenarioOf(name: ScenarioName): Scenario {
  return name === 'checkout' ? checkoutScenario() : nftScenario();
}

/** The SDK every read and check goes through: pinned key, wasm hashing, a store that records every trusted size. */
export async function verifyingClient(o: LoadOptions, store: RecordingStore): Promise<CairnClient> {
  return new CairnClient({
    proofUrl: o.proof_url,
    ingestUrl: o.ingest_url,
    verifierKey: o.verifier_key,
    origin: o.origin,
    store,
    hasher: await createWasmHasher(),
    limits: { receipt_wait_ms_max: o.receipt_wait_ms_max },
  });
}

export async function runScenario(o: LoadOptions, name: ScenarioName, hooks: RunHooks = {}): Promise<ScenarioResult> {
  const store = new RecordingStore();
  const sdk = await pinnedClient(o, store);
  const poster = new JsonPoster(o.ingest_url, o.clients, o.request_ms_max, o.api_key);
  const log = new RunLog();
  const side: ScenarioContext = { options: o, sdk, poster, log, stats: new LoadStats() };
  const scenario = scenarioOf(name);
  try {
    await scenario.setup(side);
    const stats = new LoadStats();
    const seconds = await loadPhase(scenario, { ...side, stats }, hooks);
    const uncertain = log.uncertain.length;
    await resolve(side);
    const checkStart = performance.now();
    const check = await checkRun(log, sdk, { concurrency: o.check_concurrency, checkpointSizes: () => store.sizes });
    const check_seconds = (performance.now() - checkStart) / 1_000;
    return { scenario: name, options: o, load: stats.summary(seconds), uncertain_after_load: uncertain, resolved: uncertain - log.uncertain.length, log, check, check_seconds };
  } finally {
    poster.close();
  }
}

/** The SDK, with a first signed checkpoint verified: a wrong key, origin or URL fails here, before any load. */
async function pinnedClient(o: LoadOptions, store: RecordingStore): Promise<CairnClient> {
  let sdk: CairnClient;
  try {
    sdk = await verifyingClient(o, store);
  } catch (cause) {
    throw new LoadError('bad_option', `the verifier key ${JSON.stringify(o.verifier_key)} or origin ${JSON.stringify(o.origin)} is not usable: ${String(cause)}`, { cause });
  }
  try {
    await sdk.checkpoint();
  } catch (cause) {
    throw new LoadError('setup_failed', `cannot verify the proof service's checkpoint at ${o.proof_url} (origin ${o.origin}, pinned key ${o.verifier_key}): ${String(cause)}`, { cause });
  }
  return sdk;
}

/** The closed loop, with hooks.during beside it; returns the seconds the loop ran. */
async function loadPhase(scenario: Scenario, ctx: ScenarioContext, hooks: RunHooks): Promise<number> {
  const o = ctx.options;
  const budget = new Budget(o.duration_ms, o.requests_max);
  const stop = new AbortController();
  // Caught at once so a failure while the load runs is not an unhandled rejection; thrown after it.
  let failed: { error: unknown } | undefined;
  const during = hooks.during?.(stop.signal).catch((error: unknown) => {
    failed = { error };
  });
  let seconds: number;
  try {
    seconds = await closedLoop(o.clients, budget, scenario.iteration(ctx, budget));
  } finally {
    stop.abort();
    await during;
  }
  if (failed !== undefined) throw new LoadError('chaos_failed', `the step run beside the load failed: ${String(failed.error)}`, { cause: failed.error });
  return seconds;
}

/** Resends each undecided transaction with its id: the original receipt, a commit now, or a refusal decides it. */
async function resolve(ctx: ScenarioContext): Promise<void> {
  const left = [];
  for (const u of ctx.log.uncertain) {
    const outcome = await send(senderOf(ctx, undefined), u.tx);
    if (outcome.kind === 'committed') ctx.log.acks.push({ tx: u.tx, receipt: outcome.receipt, effect: u.effect });
    else if (outcome.kind === 'refused') ctx.log.refused.push({ tx: u.tx, status: outcome.status, code: outcome.code });
    else left.push(u);
  }
  ctx.log.uncertain = left;
}
