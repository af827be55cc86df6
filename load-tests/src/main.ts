#!/usr/bin/env node
// `npm run load -w @cairn/load-tests -- [options]`: runs the scenarios against a local cluster
// (`npm start`), prints each one's figures and verdict. Exit 0: every invariant held; 1: some
// invariant was violated; 2: bad options or a cluster the tool could not set up against.
import { measureBaseline } from './baseline.js';
import { parseOptions, usage } from './config.js';
import { isLoadError } from './errors.js';
import { formatResult } from './report.js';
import { runScenario } from './run.js';
import type { StatsSummary } from './stats.js';

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return 0;
  }
  const options = parseOptions(argv, process.env, Date.now());
  let baseline: StatsSummary | undefined;
  if (options.baseline) baseline = await measureBaseline(options);
  let violated = false;
  for (const scenario of options.scenarios) {
    const result = await runScenario(options, scenario);
    console.log(formatResult(result, baseline));
    violated ||= result.check.violations_total > 0;
  }
  return violated ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (isLoadError(error)) {
      console.error(`load: ${error.code}: ${error.message}${error.code === 'bad_option' ? `\n\n${usage()}` : ''}`);
    } else {
      console.error(`load: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    process.exitCode = 2;
  },
);
