import { parseArgs } from 'node:util';

export type OptionType = 'string' | 'integer' | 'boolean';

export interface OptionSpec {
  readonly type: OptionType;
  readonly description: string;
  /** Environment variable read when the flag is absent. */
  readonly env?: string;
  readonly default?: string | number | boolean;
  readonly short?: string;
  /** Shown in --help instead of the default (e.g. "7100 + id"). */
  readonly defaultText?: string;
  /** A string flag that may be given several times (its value is then a string[]). */
  readonly multiple?: boolean;
  /** Bounds of an integer flag, inclusive (a value outside is a ConfigError naming them). */
  readonly min?: number;
  readonly max?: number;
}

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  readonly program: string;
  readonly summary: string;
  readonly usage?: string;
  readonly options: O;
  readonly allowPositionals?: boolean;
  /**
   * A flag (not `multiple`) given twice is a ConfigError, not the last one silently taken: an
   * operator tool's `--dir A ... --dir B` must not act on a network the operator did not mean.
   * (The apps take the last: their launchers append overrides after their defaults.)
   */
  readonly refuseRepeats?: boolean;
}

type ValueOf<S extends OptionSpec> = S['multiple'] extends true
  ? string[]
  : S['type'] extends 'boolean'
    ? boolean
    : S['type'] extends 'integer'
      ? number
      : string;

export type ParsedOptions<O extends Record<string, OptionSpec>> = { -readonly [K in keyof O]: ValueOf<O[K]> | undefined };

/** A configuration the operator must fix; the message says what to change. Exit code 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function helpText<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  const lines = [`${spec.program}: ${spec.summary}`, '', `usage: ${spec.usage ?? `${spec.program} [options]`}`, '', 'options:'];
  for (const [name, o] of Object.entries(spec.options)) {
    const flag = `  ${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'boolean' ? '' : ` <${o.type === 'integer' ? 'n' : 'value'}>`}`;
    const extra = [
      o.env ? `env ${o.env}` : '',
      o.defaultText ?? (o.default !== undefined ? `default ${String(o.default)}` : ''),
    ].filter(Boolean);
    lines.push(`${flag.padEnd(32)} ${o.description}${extra.length ? ` (${extra.join('; ')})` : ''}`);
  }
  lines.push(`${'  --help'.padEnd(32)} print this help`);
  return lines.join('\n');
}

/**
 * Parses flags, then environment variables, then defaults (`given` names the flags the command
 * line itself set). `--help` yields `{ help: true }`.
 * Unknown flags and malformed integers are ConfigErrors naming the flag.
 */
export function parseCommand<O extends Record<string, OptionSpec>>(
  spec: CommandSpec<O>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { help: true } | { help: false; options: ParsedOptions<O>; positionals: string[]; given: ReadonlySet<keyof O & string> } {
  const parseSpec: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean' } };
  for (const [name, o] of Object.entries(spec.options)) {
    parseSpec[name] = { type: o.type === 'boolean' ? 'boolean' : 'string', ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: parseSpec, allowPositionals: spec.allowPositionals ?? false, strict: true, tokens: true });
  } catch (e) {
    // Node's own message may take several lines (a value that starts with a dash): one line here.
    throw new ConfigError(`${(e as Error).message.replace(/\s*\n\s*/g, ' ')}; see npm run ${spec.program} -- --help`);
  }
  if (parsed.values['help']) return { help: true };
  if (spec.refuseRepeats) {
    const seen = new Set<string>();
    for (const t of parsed.tokens ?? []) {
      if (t.kind !== 'option' || spec.options[t.name]?.multiple) continue;
      if (seen.has(t.name)) throw new ConfigError(`--${t.name} is given more than once; give it once (see npm run ${spec.program} -- --help)`);
      seen.add(t.name);
    }
  }
  const options = {} as ParsedOptions<O>;
  for (const [name, o] of Object.entries(spec.options) as [keyof O & string, OptionSpec][]) {
    if (o.multiple) {
      options[name] = ((parsed.values[name] as string[] | undefined) ?? []) as never;
      continue;
    }
    let raw: string | boolean | undefined = parsed.values[name] as string | boolean | undefined;
    let from = `--${name}`;
    if (raw === undefined && o.env && env[o.env] !== undefined && env[o.env] !== '') {
      raw = o.type === 'boolean' ? ['1', 'true', 'yes'].includes(String(env[o.env]).toLowerCase()) : env[o.env];
      from = o.env;
    }
    if (raw === undefined) {
      options[name] = o.default as never;
      continue;
    }
    // An empty value on the command line (--acceptors "" from an unset shell variable) is a
    // mistake, not a request for the default: refused rather than silently read as absent.
    if (raw === '' && from.startsWith('--')) throw new ConfigError(`${from} is empty; give a value or leave the flag out`);
    if (o.type === 'integer') {
      const text = String(raw).trim();
      if (!/^-?\d+$/.test(text)) throw new ConfigError(`${from} must be an integer, got "${text}"`);
      const n = Number(text);
      if (!Number.isSafeInteger(n)) throw new ConfigError(`${from} is out of range: ${text}`);
      if ((o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) {
        throw new ConfigError(`${from} must be ${o.max === undefined ? `at least ${o.min}` : o.min === undefined ? `at most ${o.max}` : `${o.min}..${o.max}`}, got ${n}`);
      }
      options[name] = n as never;
    } else {
      options[name] = raw as never;
    }
  }
  // The flags on the command line itself (not from the environment or a default).
  const given = new Set(Object.keys(parsed.values).filter((k) => k in spec.options)) as Set<keyof O & string>;
  return { help: false, options, positionals: parsed.positionals, given };
}

/** Parses an "a,b,c" list of host:port addresses. */
export function parseAddressList(text: string, what: string): string[] {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const a of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(a) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(a)) {
      throw new ConfigError(`${what}: "${a}" is not host:port`);
    }
    // Five digits pass the pattern; a port past 65535 was refused only by the dial, as an error
    // that was no ConfigError (an operator tool exited 1 saying "Port should be >= 0 and < 65536").
    const port = Number(a.slice(a.lastIndexOf(':') + 1));
    if (port < 1 || port > 65_535) throw new ConfigError(`${what}: "${a}" names port ${port}, not one of 1..65535`);
  }
  if (list.length === 0) throw new ConfigError(`${what} is empty`);
  return list;
}

/** "0-15" or "1,2,5" or "0-3,8". */
export function parseIdSet(text: string, what: string): Set<number> {
  const ids = new Set<number>();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new ConfigError(`${what}: "${part}" is not an id or a range like 0-15`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 100_000) throw new ConfigError(`${what}: bad range "${part}"`);
    for (let i = lo; i <= hi; i++) ids.add(i);
  }
  if (ids.size === 0) throw new ConfigError(`${what} is empty`);
  return ids;
}
