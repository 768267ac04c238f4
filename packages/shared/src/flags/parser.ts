// Command-line parsing with the syntax the Go sidecars accept (Go `flag` and pflag): `--x=v`,
// `--x v`, `-x=v`, `-x v`, bare booleans, `--` ending flags. A pure function: it returns values,
// a help request or an error; printing and exiting belong to the caller.

import type { AnyFlagDef, FlagDefs, FlagValues, SetContext } from './definitions.js';
import { goQuote } from './go-syntax.js';

/**
 * Whose messages to imitate: Go's `flag` package (attacher, resizer) or pflag (provisioner).
 * Both dialects accept the same syntax here, a superset of either.
 */
export type FlagDialect = 'goflag' | 'pflag';

export interface ParseOptions {
  dialect?: FlagDialect;
}

export type ParseResult<D extends FlagDefs> =
  | {
      kind: 'ok';
      values: FlagValues<D>;
      /** Go names of the flags given on the command line. */
      explicit: ReadonlySet<string>;
      /** Arguments that are not flags (the Go sidecars ignore them). */
      args: readonly string[];
      /** Deprecation and no-effect notices to print before starting. */
      warnings: readonly string[];
    }
  | { kind: 'help' }
  | { kind: 'error'; error: string; flag?: string };

interface Index {
  byName: Map<string, { key: string; def: AnyFlagDef }>;
  byShorthand: Map<string, { key: string; def: AnyFlagDef }>;
}

// Underscores and dashes are the same in flag names here (klog's `--add_dir_header` style);
// the Go sidecars only know the dashed names, so this accepts a superset.
function normalizeName(name: string): string {
  return name.replaceAll('_', '-');
}

function buildIndex(defs: FlagDefs): Index {
  const index: Index = { byName: new Map(), byShorthand: new Map() };
  for (const [key, def] of Object.entries(defs)) {
    const name = normalizeName(def.name);
    if (index.byName.has(name)) throw new Error(`flag --${def.name} is defined twice`);
    index.byName.set(name, { key, def });
    if (def.shorthand !== undefined) {
      if (index.byShorthand.has(def.shorthand)) throw new Error(`flag shorthand -${def.shorthand} is defined twice`);
      index.byShorthand.set(def.shorthand, { key, def });
    }
  }
  return index;
}

function unknownFlag(dialect: FlagDialect, name: string): string {
  if (dialect === 'goflag') return `flag provided but not defined: -${name}`;
  return name.length === 1 ? `unknown shorthand flag: '${name}' in -${name}` : `unknown flag: --${name}`;
}

function needsArgument(dialect: FlagDialect, def: AnyFlagDef): string {
  return dialect === 'goflag' ? `flag needs an argument: -${def.name}` : `flag needs an argument: --${def.name}`;
}

function invalidValue(dialect: FlagDialect, def: AnyFlagDef, raw: string, reason: string): string {
  if (dialect === 'goflag') {
    return def.isBool
      ? `invalid boolean value ${goQuote(raw)} for -${def.name}: ${reason}`
      : `invalid value ${goQuote(raw)} for flag -${def.name}: ${reason}`;
  }
  const shown = def.shorthand !== undefined ? `-${def.shorthand}, --${def.name}` : `--${def.name}`;
  return `invalid argument ${goQuote(raw)} for ${goQuote(shown)} flag: ${reason}`;
}

export function parseFlags<D extends FlagDefs>(defs: D, argv: readonly string[], opts: ParseOptions = {}): ParseResult<D> {
  const dialect = opts.dialect ?? 'goflag';
  const index = buildIndex(defs);
  const values: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(defs)) values[key] = def.initial();
  const explicit = new Set<string>();
  const args: string[] = [];
  const warnings: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (arg.length < 2 || arg[0] !== '-') {
      // Go's flag package stops at the first non-flag and silently ignores every flag after it;
      // we keep parsing (as pflag does) so nothing after a stray word is dropped unnoticed.
      args.push(arg);
      continue;
    }
    const dashes = arg[1] === '-' ? 2 : 1;
    const body = arg.slice(dashes);
    if (body === '' || body[0] === '-' || body[0] === '=') return { kind: 'error', error: `bad flag syntax: ${arg}` };
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    let inline = eq < 0 ? undefined : body.slice(eq + 1);

    let entry = index.byName.get(normalizeName(name));
    if (!entry && dashes === 1 && name.length > 1) {
      // pflag shorthand with the value attached: -v5
      const short = index.byShorthand.get(name[0]!);
      if (short && !short.def.isBool && eq < 0) {
        entry = short;
        inline = name.slice(1);
      }
    }
    if (!entry && name.length === 1) entry = index.byShorthand.get(name);
    if (!entry) {
      if (name === 'h' || name === 'help') return { kind: 'help' };
      return { kind: 'error', error: unknownFlag(dialect, name), flag: name };
    }

    const { key, def } = entry;
    let raw: string;
    if (def.isBool) {
      raw = inline ?? 'true';
    } else if (inline !== undefined) {
      raw = inline;
    } else if (i + 1 < argv.length) {
      raw = argv[++i]!;
    } else {
      return { kind: 'error', error: needsArgument(dialect, def), flag: def.name };
    }

    const ctx: SetContext = { firstSet: !explicit.has(def.name), warn: (m) => warnings.push(m) };
    try {
      values[key] = def.set(raw, values[key], ctx);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return { kind: 'error', error: invalidValue(dialect, def, raw, reason), flag: def.name };
    }
    if (def.deprecated !== undefined && !explicit.has(def.name)) {
      warnings.push(`Flag --${def.name} has been deprecated, ${def.deprecated}`);
    }
    explicit.add(def.name);
  }

  return { kind: 'ok', values: values as FlagValues<D>, explicit, args, warnings };
}
