// A service's configuration as one table of named settings: each has its env var, its flag, its
// default and its allowed range (numbers) or shape (strings). A service checks everything at start,
// so a bad setting stops the process before it takes traffic. The service keeps what is its own:
// the table, the env names that differ from CAIRN_<KEY>, its typed error, and the relations between
// settings. Order of precedence: flags > env vars > defaults; `overrides` (tests) win over all.

export type NumberKeyOf<C> = { [K in keyof C]: C[K] extends number ? K : never }[keyof C] & string;
export type StringKeyOf<C> = { [K in keyof C]: C[K] extends string ? K : never }[keyof C] & string;

export interface NumberSetting<K extends string = string> {
  readonly key: K;
  readonly min: number;
  readonly max: number;
  readonly default: number;
  readonly help: string;
}

export interface StringSetting<K extends string = string> {
  readonly key: K;
  readonly pattern: RegExp;
  readonly default: string;
  readonly help: string;
  /** Never printed in an error: the value is a secret. */
  readonly secret?: boolean;
}

export interface ConfigSpec<C> {
  readonly strings: readonly StringSetting<StringKeyOf<C>>[];
  readonly numbers: readonly NumberSetting<NumberKeyOf<C>>[];
  /** Env var names that differ from CAIRN_<KEY>. */
  readonly env_names?: Partial<Record<keyof C & string, string>>;
  /** The service's typed error (its stable code) for a message about a bad setting. */
  readonly error: (message: string) => Error;
  /** Digits a number setting may have before its range is checked; unbounded when absent. */
  readonly digits_max?: number;
}

/** How `usage` lays out its table: the first line, and the widths of the flag, env and default columns. */
export interface UsageLayout {
  readonly title: string;
  readonly widths: readonly [number, number, number];
  /** Shown for an empty string default; the empty default itself when absent. */
  readonly empty_default?: string;
}

type Values = Record<string, unknown>;

export function envName<C>(spec: ConfigSpec<C>, key: keyof C & string): string {
  return spec.env_names?.[key] ?? `CAIRN_${key.toUpperCase()}`;
}

export function flagName(key: string): string {
  return `--${key.replaceAll('_', '-')}`;
}

function allSettings<C>(spec: ConfigSpec<C>): readonly (StringSetting<keyof C & string> | NumberSetting<keyof C & string>)[] {
  return [...spec.strings, ...spec.numbers];
}

export function configDefaults<C>(spec: ConfigSpec<C>): C {
  const out: Values = {};
  for (const s of allSettings(spec)) out[s.key] = s.default;
  return out as C;
}

// Raw text per key: env vars first, then flags (`--name=value` or `--name value`) over them.
function rawValues<C>(spec: ConfigSpec<C>, env: Readonly<Record<string, string | undefined>>, argv: readonly string[]): Map<string, string> {
  const raw = new Map<string, string>();
  const known = new Map<string, string>();
  for (const s of allSettings(spec)) {
    known.set(flagName(s.key), s.key);
    const fromEnv = env[envName(spec, s.key)];
    if (fromEnv !== undefined && fromEnv !== '') raw.set(s.key, fromEnv);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const key = known.get(flag);
    if (key === undefined) throw spec.error(`unknown flag ${flag} (see --help)`);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw spec.error(`flag ${flag} needs a value`);
    raw.set(key, value);
  }
  return raw;
}

/** Defaults, then env vars, then flags, then `overrides`; not yet checked (see checkSettings). */
export function readConfig<C>(
  spec: ConfigSpec<C>,
  env: Readonly<Record<string, string | undefined>>,
  argv: readonly string[],
  overrides: Partial<C> = {},
): C {
  const raw = rawValues(spec, env, argv);
  const out: Values = { ...(configDefaults(spec) as Values) };
  for (const s of spec.strings) {
    const v = raw.get(s.key);
    if (v !== undefined) out[s.key] = v;
  }
  const digits_max = spec.digits_max ?? Infinity;
  for (const s of spec.numbers) {
    const v = raw.get(s.key);
    if (v === undefined) continue;
    if (!/^[0-9]+$/.test(v) || v.length > digits_max) throw spec.error(`${s.key} must be a non-negative integer, got ${JSON.stringify(v)}`);
    out[s.key] = Number(v);
  }
  return { ...(out as C), ...overrides };
}

/** Every string matches its pattern and every number is an integer in its range. */
export function checkSettings<C>(spec: ConfigSpec<C>, config: C): void {
  const values = config as Values;
  for (const s of spec.strings) {
    const v = values[s.key];
    if (typeof v !== 'string' || !s.pattern.test(v)) {
      const shown = s.secret === true ? '(secret)' : JSON.stringify(v);
      throw spec.error(`${s.key} ${shown} is malformed (${s.help})`);
    }
  }
  for (const s of spec.numbers) {
    const v = values[s.key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < s.min || v > s.max) {
      throw spec.error(`${s.key} must be an integer in [${s.min}, ${s.max}], got ${String(v)}`);
    }
  }
}

/** The `--help` text: one line per setting with its flag, env var, default and help. */
export function usage<C>(spec: ConfigSpec<C>, layout: UsageLayout): string {
  const [flagWidth, envWidth, defaultWidth] = layout.widths;
  const lines = [layout.title, '', 'settings (flag, env var, default):'];
  for (const s of allSettings(spec)) {
    const shown = s.default === '' && layout.empty_default !== undefined ? layout.empty_default : String(s.default);
    lines.push(`  ${flagName(s.key).padEnd(flagWidth)} ${envName(spec, s.key).padEnd(envWidth)} ${shown.padEnd(defaultWidth)} ${s.help}`);
  }
  return lines.join('\n');
}
