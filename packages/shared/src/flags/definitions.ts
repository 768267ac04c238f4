// Typed flag definitions. Each builder returns a FlagDef that knows its Go name, how a raw value
// is parsed (Go syntax), how its default is shown in help, and the value type the sidecar code
// receives; values are grouped into plain objects keyed by camelCase option names.

import { parseQuantity, type Quantity } from '../quantity/quantity.js';
import {
  formatDurationMs,
  goQuote,
  nsToMs,
  parseGoBool,
  parseGoDuration,
  parseGoFloat,
  parseGoInt,
  parseGoUint,
} from './go-syntax.js';

export interface SetContext {
  /** True on the first time this flag appears on the command line (list/map flags drop their default then). */
  readonly firstSet: boolean;
  /** Adds a non-fatal warning shown before the sidecar starts. */
  warn(message: string): void;
}

export interface FlagDef<T> {
  /** The Go flag name, without dashes. */
  readonly name: string;
  readonly usage: string;
  /** One-letter alias (pflag style `-v`); only the provisioner's Go flag set had one. */
  readonly shorthand?: string;
  /** Bare `--name` means true and never consumes the next argument. */
  readonly isBool: boolean;
  /** Type word in pflag-style help ("string", "duration", "mapStringBool"); empty for booleans. */
  readonly typeName: string;
  /** Type word in Go-flag-style help ("string", "duration", "value"); empty for booleans. */
  readonly goTypeName: string;
  /** The default as Go prints it, or undefined when help should not show one (a zero value). */
  readonly defaultText: string | undefined;
  /** Whether help quotes the default (Go quotes string defaults). */
  readonly quoteDefault: boolean;
  /** When set, using the flag prints `Flag --name has been deprecated, <deprecated>`. */
  readonly deprecated?: string;
  /** Accepted but not listed in help. */
  readonly hidden?: boolean;
  initial(): T;
  /** Parses one occurrence; throws an Error whose message says what is wrong with the value. */
  set(raw: string, current: T, ctx: SetContext): T;
}

// `any` is deliberate: a definition set holds flags of many value types, and FlagDef<T> is
// invariant in T (T is both taken and returned).
export type AnyFlagDef = FlagDef<any>;
export type FlagDefs = Record<string, AnyFlagDef>;
export type FlagValues<D extends FlagDefs> = { -readonly [K in keyof D]: D[K] extends FlagDef<infer T> ? T : never };

export interface CommonFlagOptions {
  shorthand?: string;
  deprecated?: string;
  hidden?: boolean;
}

export interface RangeOptions extends CommonFlagOptions {
  min?: number;
  max?: number;
}

function checkRange(v: number, opts: { min?: number; max?: number }, show: (n: number) => string = String): void {
  const { min, max } = opts;
  if (min !== undefined && max !== undefined && (v < min || v > max)) {
    throw new Error(`must be between ${show(min)} and ${show(max)}`);
  }
  if (min !== undefined && v < min) throw new Error(`must be at least ${show(min)}`);
  if (max !== undefined && v > max) throw new Error(`must be at most ${show(max)}`);
}

function base<T>(
  name: string,
  usage: string,
  opts: CommonFlagOptions,
  rest: Omit<FlagDef<T>, 'name' | 'usage' | 'shorthand' | 'deprecated' | 'hidden'>,
): FlagDef<T> {
  return {
    name,
    usage,
    ...(opts.shorthand !== undefined ? { shorthand: opts.shorthand } : {}),
    ...(opts.deprecated !== undefined ? { deprecated: opts.deprecated } : {}),
    ...(opts.hidden !== undefined ? { hidden: opts.hidden } : {}),
    ...rest,
  };
}

export function stringFlag(name: string, def: string, usage: string, opts: CommonFlagOptions = {}): FlagDef<string> {
  return base(name, usage, opts, {
    isBool: false,
    typeName: 'string',
    goTypeName: 'string',
    defaultText: def === '' ? undefined : def,
    quoteDefault: true,
    initial: () => def,
    set: (raw) => raw,
  });
}

/** A string restricted to a fixed set of words (e.g. --logging-format). */
export function enumFlag<W extends string>(
  name: string,
  def: W,
  allowed: readonly W[],
  usage: string,
  opts: CommonFlagOptions = {},
): FlagDef<W> {
  return base(name, usage, opts, {
    isBool: false,
    typeName: 'string',
    goTypeName: 'string',
    defaultText: def === '' ? undefined : def,
    quoteDefault: true,
    initial: () => def,
    set: (raw) => {
      if (!(allowed as readonly string[]).includes(raw)) {
        throw new Error(`must be one of ${allowed.map((w) => goQuote(w)).join(', ')}`);
      }
      return raw as W;
    },
  });
}

export function boolFlag(name: string, def: boolean, usage: string, opts: CommonFlagOptions = {}): FlagDef<boolean> {
  return base(name, usage, opts, {
    isBool: true,
    typeName: '',
    goTypeName: '',
    defaultText: def ? 'true' : undefined,
    quoteDefault: false,
    initial: () => def,
    set: (raw) => parseGoBool(raw),
  });
}

function toSafeNumber(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error('value out of range');
  return Number(v);
}

/** Go `int` (64-bit), read with base prefixes like Go; optional inclusive range. */
export function intFlag(name: string, def: number, usage: string, opts: RangeOptions = {}): FlagDef<number> {
  return base(name, usage, opts, {
    isBool: false,
    typeName: 'int',
    goTypeName: 'int',
    defaultText: def === 0 ? undefined : String(def),
    quoteDefault: false,
    initial: () => def,
    set: (raw) => {
      const v = toSafeNumber(parseGoInt(raw));
      checkRange(v, opts);
      return v;
    },
  });
}

/** Go `uint`: no sign accepted; optional inclusive range. */
export function uintFlag(name: string, def: number, usage: string, opts: RangeOptions = {}): FlagDef<number> {
  return base(name, usage, opts, {
    isBool: false,
    typeName: 'uint',
    goTypeName: 'uint',
    defaultText: def === 0 ? undefined : String(def),
    quoteDefault: false,
    initial: () => def,
    set: (raw) => {
      const v = toSafeNumber(parseGoUint(raw));
      checkRange(v, opts);
      return v;
    },
  });
}

export interface FloatOptions extends RangeOptions {
  /** Go float32 flags round to single precision. */
  bits?: 32 | 64;
}

export function floatFlag(name: string, def: number, usage: string, opts: FloatOptions = {}): FlagDef<number> {
  const bits = opts.bits ?? 64;
  return base(name, usage, opts, {
    isBool: false,
    typeName: bits === 32 ? 'float32' : 'float64',
    goTypeName: 'float',
    defaultText: def === 0 ? undefined : String(def),
    quoteDefault: false,
    initial: () => def,
    set: (raw) => {
      const v = parseGoFloat(raw, bits);
      checkRange(v, opts);
      return v;
    },
  });
}

export interface DurationOptions extends CommonFlagOptions {
  /** Smallest accepted value in milliseconds (inclusive). */
  minMs?: number;
  /** Refuse zero as well as negatives: for periods and timeouts where 0 means a busy loop or instant failure. */
  positive?: boolean;
}

/** A Go duration ("10s", "1m30s", "300ms"); the value is in milliseconds. */
export function durationFlag(name: string, defMs: number, usage: string, opts: DurationOptions = {}): FlagDef<number> {
  return base(name, usage, opts, {
    isBool: false,
    typeName: 'duration',
    goTypeName: 'duration',
    defaultText: defMs === 0 ? undefined : formatDurationMs(defMs),
    quoteDefault: false,
    initial: () => defMs,
    set: (raw) => {
      const ms = nsToMs(parseGoDuration(raw));
      if (opts.positive && ms <= 0) throw new Error('must be greater than 0s');
      if (opts.minMs !== undefined && ms < opts.minMs) throw new Error(`must be at least ${formatDurationMs(opts.minMs)}`);
      return ms;
    },
  });
}

/**
 * A list given as comma-separated items and/or by repeating the flag (pflag's stringSlice): the
 * first occurrence replaces the default, later ones append.
 */
export function stringListFlag(name: string, def: readonly string[], usage: string, opts: CommonFlagOptions = {}): FlagDef<string[]> {
  return base(name, usage, opts, {
    isBool: false,
    typeName: 'strings',
    goTypeName: 'value',
    defaultText: def.length === 0 ? undefined : `[${def.join(',')}]`,
    quoteDefault: false,
    initial: () => [...def],
    set: (raw, current, ctx) => {
      const items = raw === '' ? [] : raw.split(',');
      return ctx.firstSet ? items : [...current, ...items];
    },
  });
}

export interface StringMapOptions extends CommonFlagOptions {
  /** Between key and value: ':' for --leader-election-labels (k:v), '=' for k=v maps. */
  separator: ':' | '=';
}

/**
 * A map given as comma-separated `key<sep>value` items; repeated flags add to it. Every item must
 * split into exactly one key and one value, as the Go label flag requires ("a:b:c" is an error).
 */
export function stringMapFlag(name: string, usage: string, opts: StringMapOptions): FlagDef<Record<string, string>> {
  return base<Record<string, string>>(name, usage, opts, {
    isBool: false,
    typeName: 'mapStringString',
    goTypeName: 'value',
    defaultText: undefined,
    quoteDefault: false,
    initial: () => ({}),
    set: (raw, current) => {
      const next = { ...current };
      for (const item of raw.split(',')) {
        const parts = item.split(opts.separator);
        if (parts.length !== 2) {
          throw new Error(`malformed item ${goQuote(item)}: want key${opts.separator}value`);
        }
        next[parts[0]!] = parts[1]!;
      }
      return next;
    },
  });
}

/** A resource quantity ("512", "2Ki", "1M"), parsed with apimachinery's rules. */
export function quantityFlag(name: string, def: string, usage: string, opts: CommonFlagOptions = {}): FlagDef<Quantity> {
  const initial = parseQuantity(def);
  return base(name, usage, opts, {
    isBool: false,
    typeName: 'quantity',
    goTypeName: 'value',
    defaultText: initial.isZero() ? undefined : initial.toString(),
    quoteDefault: false,
    initial: () => initial,
    set: (raw) => {
      try {
        return parseQuantity(raw);
      } catch (err) {
        throw new Error(err instanceof Error && 'reason' in err ? String(err.reason) : String(err));
      }
    },
  });
}

/** Any other value type: a custom parser plus how help shows it. */
export function customFlag<T>(spec: {
  name: string;
  usage: string;
  typeName: string;
  initial: () => T;
  defaultText?: string;
  set: (raw: string, current: T, ctx: SetContext) => T;
  opts?: CommonFlagOptions;
}): FlagDef<T> {
  return base(spec.name, spec.usage, spec.opts ?? {}, {
    isBool: false,
    typeName: spec.typeName,
    goTypeName: 'value',
    defaultText: spec.defaultText,
    quoteDefault: false,
    initial: spec.initial,
    set: spec.set,
  });
}
