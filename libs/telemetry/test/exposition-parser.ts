// A strict reader of the Prometheus text format 0.0.4, for tests only: it refuses everything the
// format does not allow and everything this package should never write (comments other than
// HELP/TYPE, blank lines, timestamps, families split in two, a series twice), so a round trip
// through it checks the writer, not just that some scraper would be lenient enough.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  help: string | undefined;
  type: string | undefined;
  readonly samples: Sample[];
}

const namePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const valuePattern = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const types = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parseExposition(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition must end with a line feed');
  const lines = text.split('\n');
  lines.pop();
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  let current: Family | undefined;
  const enter = (name: string): Family => {
    if (current?.name === name) return current;
    if (families.has(name)) throw new Error(`family ${name} appears in two places`);
    current = { name, help: undefined, type: undefined, samples: [] };
    families.set(name, current);
    return current;
  };
  lines.forEach((line, i) => {
    const at = `line ${i + 1}: `;
    if (line.startsWith('#')) {
      // `s`: a HELP text may hold \r or U+2028 (only \\ and \n are escaped), which `.` would not match.
      const m = /^# (HELP|TYPE) ([^ ]+) (.*)$/s.exec(line);
      if (m === null) throw new Error(`${at}comment that is neither HELP nor TYPE`);
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (namePattern.exec(name)?.[0] !== name) throw new Error(`${at}bad metric name ${name}`);
      const f = enter(name);
      if (f.samples.length > 0) throw new Error(`${at}${kind} after samples of ${name}`);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`${at}second HELP for ${name}`);
        f.help = unescape(rest, false, at);
      } else {
        if (f.type !== undefined) throw new Error(`${at}second TYPE for ${name}`);
        if (!types.has(rest)) throw new Error(`${at}unknown type ${rest}`);
        f.type = rest;
      }
      return;
    }
    const sample = parseSample(line, at);
    const f = current === undefined ? undefined : familyOf(current, sample.name);
    if (f === undefined) throw new Error(`${at}sample ${sample.name} outside its family`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seenSeries.has(key)) throw new Error(`${at}series ${key} twice`);
    seenSeries.add(key);
    f.samples.push(sample);
  });
  return families;
}

function familyOf(f: Family, sampleName: string): Family | undefined {
  if (f.type === 'histogram') {
    return ['_bucket', '_sum', '_count'].some((s) => sampleName === f.name + s) ? f : undefined;
  }
  return sampleName === f.name ? f : undefined;
}

function parseSample(line: string, at: string): Sample {
  const name = namePattern.exec(line)?.[0];
  if (name === undefined) throw new Error(`${at}no metric name`);
  let pos = name.length;
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  if (line[pos] === '{') {
    pos += 1;
    while (line[pos] !== '}') {
      const label = labelNamePattern.exec(line.slice(pos))?.[0];
      if (label === undefined) throw new Error(`${at}bad label name`);
      if (label in labels) throw new Error(`${at}label ${label} twice`);
      pos += label.length;
      if (line.slice(pos, pos + 2) !== '="') throw new Error(`${at}expected =" after ${label}`);
      pos += 2;
      let raw = '';
      while (line[pos] !== '"') {
        if (pos >= line.length) throw new Error(`${at}unterminated label value`);
        if (line[pos] === '\\') {
          raw += line.slice(pos, pos + 2);
          pos += 2;
        } else {
          raw += line[pos];
          pos += 1;
        }
      }
      pos += 1;
      labels[label] = unescape(raw, true, at);
      if (line[pos] === ',') {
        pos += 1;
        if (line[pos] === '}') throw new Error(`${at}trailing comma in labels`);
      } else if (line[pos] !== '}') throw new Error(`${at}expected , or } after a label`);
    }
    pos += 1;
  }
  if (line[pos] !== ' ') throw new Error(`${at}expected one space before the value`);
  const text = line.slice(pos + 1);
  return { name, labels, value: parseValue(text, at) };
}

function parseValue(text: string, at: string): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!valuePattern.test(text)) throw new Error(`${at}bad value ${JSON.stringify(text)}`);
  return Number(text);
}

// Label values: \\, \" and \n. HELP: \\ and \n only. Any other backslash is refused.
function unescape(raw: string, quoted: boolean, at: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = raw[i + 1];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === '"' && quoted) out += '"';
    else throw new Error(`${at}bad escape \\${next ?? ''}`);
    i += 1;
  }
  return out;
}

/** The one sample of `name` whose labels are exactly `labels`; throws if absent. */
export function sampleValue(families: Map<string, Family>, family: string, name: string, labels: Record<string, string> = {}): number {
  const f = families.get(family);
  if (f === undefined) throw new Error(`no family ${family}`);
  const want = JSON.stringify(Object.entries(labels).sort());
  const s = f.samples.find((x) => x.name === name && JSON.stringify(Object.entries(x.labels).sort()) === want);
  if (s === undefined) throw new Error(`no sample ${name}${want}`);
  return s.value;
}
