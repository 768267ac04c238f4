// Kubernetes resource quantities ("10Gi", "1500M", "100m", "12e6") with the semantics of
// apimachinery's resource.Quantity: exact values (bigint, no floating point), parse-time rounding
// up to nano precision, the BinarySI clamp at 2^63-1, and String()'s canonical spelling. Sizes
// decide how big a volume is; they must never pass through a float.

export type QuantityFormat = 'DecimalExponent' | 'BinarySI' | 'DecimalSI';

/** A quantity string that does not parse; names the input and says why. */
export class QuantityParseError extends Error {
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`invalid quantity ${JSON.stringify(input)}: ${reason}`);
    this.name = 'QuantityParseError';
  }
}

const FORMAT_WRONG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const SUFFIX_WRONG = "unable to parse quantity's suffix";
const NO_DIGITS = 'no digits before the suffix';

// Sanity bound on decimal exponents ("1e999999999"): far beyond any size, and it keeps every
// operation on these values cheap. apimachinery would accept up to int32.
const MAX_EXPONENT = 10_000;
const NANO = -9;
const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

const DECIMAL_SUFFIXES: ReadonlyMap<string, number> = new Map([
  ['n', -9],
  ['u', -6],
  ['m', -3],
  ['', 0],
  ['k', 3],
  ['M', 6],
  ['G', 9],
  ['T', 12],
  ['P', 15],
  ['E', 18],
]);
const BINARY_SUFFIXES: ReadonlyMap<string, number> = new Map([
  ['Ki', 10],
  ['Mi', 20],
  ['Gi', 30],
  ['Ti', 40],
  ['Pi', 50],
  ['Ei', 60],
]);
const DECIMAL_SUFFIX_BY_EXPONENT = new Map([...DECIMAL_SUFFIXES].map(([s, e]) => [e, s]));
const BINARY_SUFFIX_BY_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function abs(v: bigint): bigint {
  return v < 0n ? -v : v;
}

/** Integer division rounding away from zero (apimachinery's "round up" on magnitudes). */
function divAwayFromZero(n: bigint, d: bigint): bigint {
  const q = n / d;
  return n % d === 0n ? q : n < 0n ? q - 1n : q + 1n;
}

/**
 * An exact quantity: value = mantissa × 10^exponent, plus the format it prints in. Immutable.
 * Build one with parseQuantity() or Quantity.fromBigInt().
 */
export class Quantity {
  /** @internal Use parseQuantity or Quantity.fromBigInt. */
  constructor(
    private readonly mantissa: bigint,
    private readonly exponent: number,
    readonly format: QuantityFormat,
    // The input spelling, kept when apimachinery keeps it (it judged the input canonical).
    private readonly spelling?: string,
  ) {}

  static fromBigInt(value: bigint, format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(value, 0, format);
  }

  static zero(format: QuantityFormat = 'DecimalSI'): Quantity {
    return new Quantity(0n, 0, format);
  }

  isZero(): boolean {
    return this.mantissa === 0n;
  }

  sign(): -1 | 0 | 1 {
    return this.mantissa === 0n ? 0 : this.mantissa < 0n ? -1 : 1;
  }

  /** The value as a whole number, rounded away from zero (Quantity.Value(): 1.5 → 2, 100m → 1). */
  value(): bigint {
    if (this.exponent >= 0) return this.mantissa * pow10(this.exponent);
    return divAwayFromZero(this.mantissa, pow10(-this.exponent));
  }

  /** value() that must fit an int64 (CSI capacity fields); throws a RangeError naming the quantity otherwise. */
  int64Value(): bigint {
    const v = this.value();
    if (v > INT64_MAX || v < INT64_MIN) {
      throw new RangeError(`quantity ${this.toString()} is too large: it does not fit in a signed 64-bit integer`);
    }
    return v;
  }

  /** -1, 0 or 1 as this is less than, equal to or greater than other (exact). */
  cmp(other: Quantity): -1 | 0 | 1 {
    const e = Math.min(this.exponent, other.exponent);
    const a = this.mantissa * pow10(this.exponent - e);
    const b = other.mantissa * pow10(other.exponent - e);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  equals(other: Quantity): boolean {
    return this.cmp(other) === 0;
  }

  /** The way apimachinery's String() prints this quantity (what Go writes into objects). */
  toString(): string {
    return this.spelling ?? this.canonical();
  }

  toJSON(): string {
    return this.toString();
  }

  /** The canonical form, ignoring any kept input spelling ("1E3" → "1e3", "+1" → "1"). */
  canonical(): string {
    if (this.mantissa === 0n) return '0';
    if (this.format === 'BinarySI') {
      // Binary units only for whole values of at least 1Ki; anything else prints in decimal.
      if (!this.magnitudeBelow(1024n) && this.isWhole()) return binaryCanonical(this.value());
      return decimalCanonical(this.mantissa, this.exponent, 'DecimalSI');
    }
    return decimalCanonical(this.mantissa, this.exponent, this.format);
  }

  private magnitudeBelow(limit: bigint): boolean {
    const m = abs(this.mantissa);
    return this.exponent >= 0 ? m * pow10(this.exponent) < limit : m < limit * pow10(-this.exponent);
  }

  private isWhole(): boolean {
    return this.exponent >= 0 || this.mantissa % pow10(-this.exponent) === 0n;
  }
}

function binaryCanonical(v: bigint): string {
  let rest = abs(v);
  let power = 0;
  while (rest >= 1024n && rest % 1024n === 0n && power < BINARY_SUFFIX_BY_POWER.length - 1) {
    rest /= 1024n;
    power++;
  }
  return `${v < 0n ? '-' : ''}${rest}${BINARY_SUFFIX_BY_POWER[power]}`;
}

function decimalCanonical(mantissa: bigint, exponent: number, format: 'DecimalSI' | 'DecimalExponent'): string {
  let m = mantissa;
  let e = exponent;
  while (m % 10n === 0n && abs(m) >= 10n) {
    m /= 10n;
    e++;
  }
  // Exponents are shown in steps of three: lower the exponent, grow the mantissa.
  const r = ((e % 3) + 3) % 3;
  m *= pow10(r);
  e -= r;
  if (format === 'DecimalSI') {
    const suffix = DECIMAL_SUFFIX_BY_EXPONENT.get(e);
    // apimachinery prints beyond-exa DecimalSI values without any suffix (a wrong value); we
    // fall back to the exponent form, which keeps the value.
    if (suffix !== undefined) return `${m}${suffix}`;
  }
  return e === 0 ? `${m}` : `${m}e${e}`;
}

interface Scanned {
  negative: boolean;
  /** Integer digits without leading zeros; "0" when there are none. */
  whole: string;
  fraction: string;
  suffix: string;
  sawDigit: boolean;
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

// Splits the input the way apimachinery's scanner does: [sign] digits [. digits] suffix.
function scan(input: string): Scanned | string {
  let pos = 0;
  let negative = false;
  if (input[0] === '-' || input[0] === '+') {
    negative = input[0] === '-';
    pos++;
  }
  let sawDigit = false;
  while (input[pos] === '0') {
    pos++;
    sawDigit = true;
  }
  const wholeStart = pos;
  while (isDigit(input[pos])) pos++;
  const whole = input.slice(wholeStart, pos);
  sawDigit ||= whole !== '';
  let fraction = '';
  if (input[pos] === '.') {
    const start = ++pos;
    while (isDigit(input[pos])) pos++;
    fraction = input.slice(start, pos);
    sawDigit ||= fraction !== '';
  }
  const suffixStart = pos;
  while (pos < input.length && 'eEinumkKMGTP'.includes(input[pos]!)) pos++;
  if (input[pos] === '-' || input[pos] === '+') pos++;
  while (isDigit(input[pos])) pos++;
  if (pos !== input.length) return FORMAT_WRONG;
  return { negative, whole: whole === '' ? '0' : whole, fraction, suffix: input.slice(suffixStart), sawDigit };
}

function interpretSuffix(suffix: string): { base: 2 | 10; exponent: number; format: QuantityFormat } | string {
  const dec = DECIMAL_SUFFIXES.get(suffix);
  if (dec !== undefined) return { base: 10, exponent: dec, format: 'DecimalSI' };
  const bin = BINARY_SUFFIXES.get(suffix);
  if (bin !== undefined) return { base: 2, exponent: bin, format: 'BinarySI' };
  if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E') && /^[+-]?\d+$/.test(suffix.slice(1))) {
    const exponent = Number(suffix.slice(1));
    if (Math.abs(exponent) > MAX_EXPONENT) return `exponent out of range (at most ${MAX_EXPONENT} either way)`;
    return { base: 10, exponent, format: 'DecimalExponent' };
  }
  return SUFFIX_WRONG;
}

/**
 * Parses a quantity as apimachinery's ParseQuantity does. One deliberate difference: inputs
 * without a single digit ("Gi", ".", "-") are refused instead of read as zero; the API server
 * never hands such a spelling out (it stores "0"), so only typos reach this path.
 */
export function parseQuantity(input: string): Quantity {
  if (input === '') throw new QuantityParseError(input, FORMAT_WRONG);
  if (input === '0') return new Quantity(0n, 0, 'DecimalSI', '0');
  const scanned = scan(input);
  if (typeof scanned === 'string') throw new QuantityParseError(input, scanned);
  const suffix = interpretSuffix(scanned.suffix);
  if (typeof suffix === 'string') throw new QuantityParseError(input, suffix);
  if (!scanned.sawDigit) throw new QuantityParseError(input, NO_DIGITS);

  const { negative, whole, fraction } = scanned;
  const digits = whole + fraction;
  let magnitude = BigInt(digits);
  let exponent = -fraction.length;
  let format = suffix.format;
  if (suffix.base === 10) exponent += suffix.exponent;
  else magnitude *= 1n << BigInt(suffix.exponent);

  const spelling = keptSpelling(input, digits, fraction.length, suffix, magnitude);

  if (exponent < NANO) {
    // Round the magnitude up to nano precision, without building 10^huge for tiny inputs.
    const drop = NANO - exponent;
    magnitude = magnitude === 0n ? 0n : magnitude.toString().length <= drop ? 1n : divAwayFromZero(magnitude, pow10(drop));
    exponent = NANO;
  }
  if (format === 'BinarySI') {
    if (exponent >= 0 ? magnitude * pow10(exponent) > INT64_MAX : magnitude > INT64_MAX * pow10(-exponent)) {
      magnitude = INT64_MAX;
      exponent = 0;
    }
    // A binary quantity below one cannot be spelled in binary units.
    if (magnitude !== 0n && exponent < 0 && magnitude < pow10(-exponent)) format = 'DecimalSI';
  }
  return new Quantity(negative ? -magnitude : magnitude, exponent, format, spelling);
}

// apimachinery keeps the caller's spelling when its fast int64 path sees a value that is already
// canonical; String() then returns the input as written (e.g. "+1", "1E3"). Reproduced so that
// what we print matches what Go prints for the same object.
function keptSpelling(
  input: string,
  digits: string,
  fractionLength: number,
  suffix: { base: 2 | 10; exponent: number; format: QuantityFormat },
  magnitude: bigint,
): string | undefined {
  const digitsValue = BigInt(digits);
  if (digitsValue > INT64_MAX || magnitude > INT64_MAX) return undefined;
  if (suffix.base === 2) {
    if (fractionLength > 0) return undefined;
    // Go's precision estimate for binary suffixes (float32 arithmetic, truncated).
    const precision = 15 - digits.length - Math.trunc((suffix.exponent * 3) / 10) - 1;
    if (precision < 0) return undefined;
    const kept = suffix.exponent % 10 === 0 && (digitsValue & 7n) !== 0n;
    return kept ? input : undefined;
  }
  if (18 - digits.length < 0) return undefined;
  const scale = suffix.exponent - fractionLength;
  if (scale < NANO) return undefined;
  return scale % 3 === 0 && !digits.endsWith('000') && digits[0] !== '0' ? input : undefined;
}

/** The string apimachinery's String() would print for this quantity. */
export function formatQuantity(q: Quantity): string {
  return q.toString();
}

/**
 * Bytes as the Go provisioner writes PV capacity: resource.NewQuantity(bytes, BinarySI).String(),
 * e.g. 1073741824 → "1Gi", 1000 → "1k", 1500000000 → "1500000000". Bytes must fit an int64.
 */
export function bytesToQuantity(bytes: bigint): string {
  if (bytes > INT64_MAX || bytes < INT64_MIN) {
    throw new RangeError(`capacity ${bytes} bytes does not fit in a signed 64-bit integer`);
  }
  return Quantity.fromBigInt(bytes, 'BinarySI').toString();
}
