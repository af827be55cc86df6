// What a scenario is: a setup that writes the keys the load races on, and one closed-loop
// iteration. Both report every answer into the run log and the stats.
import type { CairnClient } from '@cairn/client';
import type { LoadOptions, ScenarioName } from './config.js';
import type { Budget, Sender } from './drive.js';
import type { JsonPoster } from './http.js';
import type { RunLog } from './log.js';
import type { LoadStats } from './stats.js';

export interface ScenarioContext {
  readonly options: LoadOptions;
  /** Verified reads when the generator's own view of a key is stale. */
  readonly sdk: CairnClient;
  readonly poster: JsonPoster;
  readonly log: RunLog;
  readonly stats: LoadStats;
}

export interface Scenario {
  readonly name: ScenarioName;
  setup(ctx: ScenarioContext): Promise<void>;
  iteration(ctx: ScenarioContext, budget: Budget): (client: number, n: number) => Promise<void>;
}

/** How a scenario sends: budgeted during the load, unbudgeted for setup and resolution. */
export function senderOf(ctx: ScenarioContext, budget: Budget | undefined): Sender {
  return { poster: ctx.poster, stats: ctx.stats, budget, uncertain_retries_max: ctx.options.uncertain_retries_max };
}
