// The shard tests' view of a Prometheus page: every sample as name + labels -> value, with the
// # TYPE of each family, read by @cairn/telemetry's strict test parser.
import { parseExposition as parseFamilies } from '@cairn/telemetry/exposition-parser';

export interface Exposition {
  /** `name{a="x",b="y"}` with labels sorted by name -> value. */
  readonly samples: ReadonlyMap<string, number>;
  /** Family name -> counter | gauge | histogram | ... */
  readonly types: ReadonlyMap<string, string>;
}

/**
 * The strict reader of @cairn/telemetry (it refuses anything the format does not allow), flattened
 * into series keys for lookups.
 */
export function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const family of parseFamilies(text).values()) {
    if (family.type === undefined) throw new Error(`family ${family.name} has no # TYPE line`);
    types.set(family.name, family.type);
    for (const sample of family.samples) samples.set(seriesKey(sample.name, sample.labels), sample.value);
  }
  return { samples, types };
}

export function seriesKey(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`;
}

/** The value of one series; throws when the exposition lacks it (a metric that was never exposed fails). */
export function valueOf(e: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const v = e.samples.get(seriesKey(name, labels));
  if (v === undefined) throw new Error(`no series ${seriesKey(name, labels)} in the exposition`);
  return v;
}

/** The sum over every series of `name`, whatever its labels. */
export function sumOf(e: Exposition, name: string): number {
  let total = 0;
  let seen = false;
  for (const [key, value] of e.samples) {
    if (key === name || key.startsWith(`${name}{`)) {
      total += value;
      seen = true;
    }
  }
  if (!seen) throw new Error(`no series of ${name} in the exposition`);
  return total;
}
