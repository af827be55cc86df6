// A deliberately small reader of the Prometheus text format for the tests: every sample line as
// name + labels -> value, with the # TYPE of each family. Strict: a line it cannot read fails the
// test rather than being skipped, and a sample of a family without a # TYPE line is refused.

export interface Exposition {
  /** `name{a="x",b="y"}` with labels sorted by name -> value. */
  readonly samples: ReadonlyMap<string, number>;
  /** Family name -> counter | gauge | histogram | ... */
  readonly types: ReadonlyMap<string, string>;
}

const SAMPLE = /^([a-zA-Z_][a-zA-Z0-9_]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

export function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice('# TYPE '.length).split(' ');
      if (name === undefined || type === undefined) throw new Error(`bad TYPE line: ${line}`);
      types.set(name, type);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const [, name, rawLabels, rawValue] = m as unknown as [string, string, string | undefined, string];
    if (familyOf(name, types) === undefined) throw new Error(`sample ${name} has no # TYPE line before it`);
    const key = seriesKey(name, parseLabels(rawLabels ?? ''));
    if (samples.has(key)) throw new Error(`series ${key} appears twice`);
    samples.set(key, parseValue(rawValue));
  }
  return { samples, types };
}

function familyOf(name: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix) && types.get(name.slice(0, -suffix.length)) === 'histogram') return name.slice(0, -suffix.length);
  }
  return undefined;
}

function parseLabels(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < raw.length) {
    const m = LABEL.exec(raw);
    if (m === null) throw new Error(`bad labels: ${raw}`);
    out[m[1] as string] = (m[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return out;
}

function parseValue(raw: string): number {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  if (raw === 'NaN') return NaN;
  const n = Number(raw);
  if (raw === '' || Number.isNaN(n)) throw new Error(`bad sample value ${raw}`);
  return n;
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
