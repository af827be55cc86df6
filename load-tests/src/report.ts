// The printed result of a scenario: throughput, latency, answers, retries, and the verdict.
import type { ScenarioResult } from './run.js';
import type { StatsSummary } from './stats.js';

/** Violations printed in full; the rest are counted by invariant. */
export const VIOLATIONS_PRINTED_MAX = 20;

const n = (x: number): string => Math.round(x).toLocaleString('en-US');
const ms = (x: number): string => `${x.toFixed(1)} ms`;

/** Acknowledged transactions per shard they wrote to (a cross-shard one counts on each). */
export function perShard(r: ScenarioResult): [number, number][] {
  const counts = new Map<number, number>();
  for (const ack of r.log.acks) for (const s of new Set(ack.receipt.records.map((x) => x.shard))) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].sort((a, b) => a[0] - b[0]);
}

export function formatResult(r: ScenarioResult, baseline?: StatsSummary): string {
  const o = r.options;
  const l = r.load;
  const c = r.check;
  const lines = [
    `${r.scenario}: run ${o.run_id}, ${o.clients} clients, bounds ${n(o.duration_ms)} ms / ${n(o.requests_max)} requests`,
    `  load        ${l.seconds.toFixed(1)} s, ${n(l.requests)} requests (${n(l.requests_per_s)}/s), ${n(l.committed)} committed tx = ${n(l.transactions_per_s)} tx/s`,
    `  latency     p50 ${ms(l.p50_ms)}, p99 ${ms(l.p99_ms)}, max ${ms(l.max_ms)} (per HTTP request)`,
    `  answers     ${Object.entries(l.answers).map(([k, v]) => `${k}: ${n(v)}`).join(', ') || 'none'}`,
    `  retries     after precondition_failed ${n(l.precondition_retries)}, same-id resends ${n(l.uncertain_retries)}${r.scenario === 'nft' ? `, races lost ${n(l.races_lost)}` : ''}`,
    `  undecided   ${n(r.uncertain_after_load)} after the load, ${n(r.resolved)} decided by resending`,
  ];
  lines.push(`  shards      acknowledged tx per shard: ${perShard(r).map(([s, k]) => `${s}: ${n(k)}`).join(', ')}`);
  if (baseline !== undefined) {
    const ratio = baseline.requests_per_s > 0 ? l.requests_per_s / baseline.requests_per_s : 0;
    lines.push(`  baseline    bare node:http, same generator: ${n(baseline.requests_per_s)} req/s, p50 ${ms(baseline.p50_ms)} -> this run x${ratio.toFixed(2)} of its req/s`);
  }
  const sizes = c.checkpoint_sizes;
  lines.push(
    `  checked     ${n(c.transactions_checked)} acknowledged tx (${n(c.records_checked)} records) proven, ${n(c.refusals_checked)} refused shown absent; ${n(c.keys_checked)} hot keys, ${n(c.versions_checked)} versions; trusted checkpoint ${sizes[0] ?? '?'} -> ${sizes[sizes.length - 1] ?? '?'} over ${sizes.length} saves; ${r.check_seconds.toFixed(1)} s`,
  );
  if (c.violations_total === 0) {
    lines.push('  invariants  OK: acks proven, refusals absent, histories gap-free, stock balanced, no version won twice, owner chains follow, checkpoint only forward');
    return lines.join('\n');
  }
  const byInvariant = new Map<string, number>();
  for (const v of c.violations) byInvariant.set(v.invariant, (byInvariant.get(v.invariant) ?? 0) + 1);
  lines.push(`  invariants  VIOLATED ${n(c.violations_total)} times: ${[...byInvariant].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const v of c.violations.slice(0, VIOLATIONS_PRINTED_MAX)) {
    lines.push(`    - ${v.invariant}${v.key === undefined ? '' : ` key=${v.key}`}${v.tx === undefined ? '' : ` tx=${v.tx}`}: ${v.detail}`);
  }
  if (c.violations_total > VIOLATIONS_PRINTED_MAX) lines.push(`    ... and ${n(c.violations_total - VIOLATIONS_PRINTED_MAX)} more`);
  return lines.join('\n');
}
