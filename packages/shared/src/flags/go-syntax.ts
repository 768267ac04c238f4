// The scalar syntaxes Go's flag packages accept (strconv.ParseBool, strconv.ParseInt with base 0,
// time.ParseDuration) and Go's way of printing durations, so a command line written for the Go
// sidecars means the same here and help text shows defaults the way operators know them.

/** Go's %q for the strings we print (flag values, names): a double-quoted, escaped string. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** strconv.ParseBool: exactly these spellings, nothing else (no "yes", no surrounding spaces). */
export function parseGoBool(s: string): boolean {
  if (TRUE_WORDS.has(s)) return true;
  if (FALSE_WORDS.has(s)) return false;
  throw new Error('parse error (want true or false)');
}

// Base-0 integer syntax: 0x/0o/0b prefixes, a leading 0 means octal, and single underscores may
// separate digits (or follow a prefix), as in Go source literals.
const INT_FORMS: ReadonlyArray<{ re: RegExp; radix: number; skip: number }> = [
  { re: /^0[xX](_?[0-9a-fA-F])+$/, radix: 16, skip: 2 },
  { re: /^0[bB](_?[01])+$/, radix: 2, skip: 2 },
  { re: /^0[oO](_?[0-7])+$/, radix: 8, skip: 2 },
  { re: /^0(_?[0-7])+$/, radix: 8, skip: 1 },
  { re: /^[1-9](_?[0-9])*$/, radix: 10, skip: 0 },
  { re: /^0$/, radix: 10, skip: 0 },
];

function parseUnsignedDigits(s: string): bigint {
  for (const form of INT_FORMS) {
    if (!form.re.test(s)) continue;
    const digits = s.slice(form.skip).replaceAll('_', '');
    let v = 0n;
    const radix = BigInt(form.radix);
    for (const ch of digits) v = v * radix + BigInt(parseInt(ch, form.radix));
    return v;
  }
  throw new Error('parse error (want an integer)');
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** strconv.ParseInt(s, 0, 64). */
export function parseGoInt(s: string): bigint {
  let body = s;
  let negative = false;
  if (body.startsWith('+') || body.startsWith('-')) {
    negative = body[0] === '-';
    body = body.slice(1);
  }
  const magnitude = parseUnsignedDigits(body);
  const v = negative ? -magnitude : magnitude;
  if (v < INT64_MIN || v > INT64_MAX) throw new Error('value out of range');
  return v;
}

/** strconv.ParseUint(s, 0, 64): no sign allowed. */
export function parseGoUint(s: string): bigint {
  const v = parseUnsignedDigits(s);
  if (v > UINT64_MAX) throw new Error('value out of range');
  return v;
}

const FLOAT_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Decimal floats as strconv.ParseFloat reads them. Go also takes "Inf", "NaN" and hex floats;
 * none of those is a meaningful QPS, so they are refused with a clear message.
 */
export function parseGoFloat(s: string, bits: 32 | 64 = 64): number {
  if (!FLOAT_RE.test(s)) throw new Error('parse error (want a decimal number)');
  const v = Number(s);
  const result = bits === 32 ? Math.fround(v) : v;
  if (!Number.isFinite(result)) throw new Error('value out of range');
  return result;
}

const NS_PER_UNIT: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n], // micro sign
  ['\u03bcs', 1_000n], // Greek mu
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const MAX_NS = 1n << 63n; // magnitude limit; only a negative duration may reach it exactly

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

/**
 * time.ParseDuration, returning nanoseconds: a sequence of decimal numbers with optional fraction
 * and a unit each ("300ms", "1.5h", "2h45m"), optionally signed; "0" alone needs no unit.
 * Errors carry Go's own wording, e.g. `time: missing unit in duration "1"`.
 */
export function parseGoDuration(input: string): bigint {
  const invalid = () => new Error(`time: invalid duration ${goQuote(input)}`);
  let s = input;
  let negative = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let total = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) throw invalid();
    let i = 0;
    while (isDigit(s[i])) i++;
    const intDigits = s.slice(0, i);
    let fracDigits = '';
    if (s[i] === '.') {
      const start = ++i;
      while (isDigit(s[i])) i++;
      fracDigits = s.slice(start, i);
    }
    if (intDigits === '' && fracDigits === '') throw invalid();
    s = s.slice(i);
    let u = 0;
    while (u < s.length && s[u] !== '.' && !isDigit(s[u])) u++;
    if (u === 0) throw new Error(`time: missing unit in duration ${goQuote(input)}`);
    const unitName = s.slice(0, u);
    s = s.slice(u);
    const unit = NS_PER_UNIT.get(unitName);
    if (unit === undefined) throw new Error(`time: unknown unit ${goQuote(unitName)} in duration ${goQuote(input)}`);
    const whole = intDigits === '' ? 0n : BigInt(intDigits);
    if (whole > MAX_NS / unit) throw invalid();
    let part = whole * unit;
    if (fracDigits !== '') {
      // Go scales the fraction in floating point and truncates; so do we.
      const frac = Number(`0.${fracDigits}`);
      part += BigInt(Math.trunc(frac * Number(unit)));
    }
    total += part;
    if (total > MAX_NS) throw invalid();
  }
  if (!negative && total === MAX_NS) throw invalid();
  return negative ? -total : total;
}

/** Nanoseconds to milliseconds, the unit the rest of the code base uses for time. */
export function nsToMs(ns: bigint): number {
  const whole = ns / 1_000_000n;
  const rest = ns % 1_000_000n;
  return Number(whole) + Number(rest) / 1e6;
}

/** Milliseconds to whole nanoseconds (sub-nanosecond parts are dropped). */
export function msToNs(ms: number): bigint {
  const whole = Math.trunc(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}

function fraction(v: bigint, digits: number): { rest: bigint; text: string } {
  // The `digits` lowest decimal digits of v as a fraction without trailing zeros.
  let text = '';
  let rest = v;
  let printing = false;
  for (let i = 0; i < digits; i++) {
    const digit = rest % 10n;
    printing = printing || digit !== 0n;
    if (printing) text = `${digit}${text}`;
    rest /= 10n;
  }
  return { rest, text: text === '' ? '' : `.${text}` };
}

/** time.Duration.String(): "0s", "300ms", "1.5µs", "15s", "5m0s", "1h30m0s". */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  const u = ns < 0n ? -ns : ns;
  if (u < 1_000_000_000n) {
    if (u < 1_000n) return `${sign}${u}ns`;
    if (u < 1_000_000n) {
      const f = fraction(u, 3);
      return `${sign}${f.rest}${f.text}\u00b5s`;
    }
    const f = fraction(u, 6);
    return `${sign}${f.rest}${f.text}ms`;
  }
  const f = fraction(u, 9);
  let secondsTotal = f.rest;
  let out = `${secondsTotal % 60n}${f.text}s`;
  secondsTotal /= 60n;
  if (secondsTotal > 0n) {
    out = `${secondsTotal % 60n}m${out}`;
    const hours = secondsTotal / 60n;
    if (hours > 0n) out = `${hours}h${out}`;
  }
  return sign + out;
}

/** A duration in milliseconds printed the Go way (for defaults in help text and messages). */
export function formatDurationMs(ms: number): string {
  return formatGoDuration(msToNs(ms));
}
