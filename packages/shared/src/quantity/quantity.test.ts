import { describe, expect, it } from '@jest/globals';
import { Quantity, QuantityParseError, bytesToQuantity, formatQuantity, parseQuantity } from './quantity.js';

// Expected String(), Format and Value() come from k8s.io/apimachinery v0.36.3 resource.ParseQuantity.
describe('parseQuantity matches apimachinery', () => {
  it.each([
    ['0', '0', 'DecimalSI', 0n],
    ['1', '1', 'DecimalSI', 1n],
    ['1Gi', '1Gi', 'BinarySI', 1073741824n],
    ['1073741824', '1073741824', 'DecimalSI', 1073741824n],
    ['1500M', '1500M', 'DecimalSI', 1500000000n],
    ['1.5Gi', '1536Mi', 'BinarySI', 1610612736n],
    ['1.25Gi', '1280Mi', 'BinarySI', 1342177280n],
    ['2048Mi', '2Gi', 'BinarySI', 2147483648n],
    ['0.1', '100m', 'DecimalSI', 1n],
    ['.5', '500m', 'DecimalSI', 1n],
    ['100m', '100m', 'DecimalSI', 1n],
    ['1000', '1k', 'DecimalSI', 1000n],
    ['1024', '1024', 'DecimalSI', 1024n],
    ['1025Ki', '1025Ki', 'BinarySI', 1049600n],
    ['0.5Ki', '512', 'BinarySI', 512n],
    ['0.1Gi', '107374182400m', 'BinarySI', 107374183n],
    ['1.0Gi', '1Gi', 'BinarySI', 1073741824n],
    ['0Ki', '0', 'BinarySI', 0n],
    ['12e6', '12e6', 'DecimalExponent', 12000000n],
    ['2.5e3', '2500', 'DecimalExponent', 2500n],
    ['3e-2', '30e-3', 'DecimalExponent', 1n],
    ['1e-10', '1e-9', 'DecimalExponent', 1n],
    ['1e100', '10e99', 'DecimalExponent', 10n ** 100n],
    ['1E', '1E', 'DecimalSI', 1000000000000000000n],
    ['1.5', '1500m', 'DecimalSI', 2n],
    ['-1.5', '-1500m', 'DecimalSI', -2n],
    ['-1Gi', '-1Gi', 'BinarySI', -1073741824n],
    ['0.0000000001', '1n', 'DecimalSI', 1n],
    ['0.000001', '1u', 'DecimalSI', 1n],
    ['1Ti', '1Ti', 'BinarySI', 1099511627776n],
    ['1Ei', '1Ei', 'BinarySI', 1152921504606846976n],
    ['-0', '0', 'DecimalSI', 0n],
  ])('%s → %s (%s), value %s', (input, text, format, value) => {
    const q = parseQuantity(input);
    expect(q.toString()).toBe(text);
    expect(formatQuantity(q)).toBe(text);
    expect(q.format).toBe(format);
    expect(q.value()).toBe(value);
  });

  it.each([
    ['+1', '1'],
    ['1E3', '1e3'],
    ['1e+3', '1e3'],
    ['5.', '5'],
    ['01', '1'],
    ['10E', '10E'],
  ])('keeps the spelling %s as apimachinery does (canonical %s)', (input, canonical) => {
    const q = parseQuantity(input);
    expect(q.toString()).toBe(input);
    expect(q.canonical()).toBe(canonical);
  });
});

describe('parseQuantity rejects garbage, naming the input', () => {
  it.each([
    ['12 Gi', 'quantities must match the regular expression'],
    ['', 'quantities must match the regular expression'],
    ['1.2.3', 'quantities must match the regular expression'],
    ['1Qi', 'quantities must match the regular expression'],
    [' 1', 'quantities must match the regular expression'],
    ['1 ', 'quantities must match the regular expression'],
    ['--1', "unable to parse quantity's suffix"],
    ['1e', "unable to parse quantity's suffix"],
    ['1i', "unable to parse quantity's suffix"],
    ['1.5ki', "unable to parse quantity's suffix"],
    ['-3.01e-', "unable to parse quantity's suffix"],
    ['Gi', 'no digits before the suffix'],
    ['.', 'no digits before the suffix'],
    ['-', 'no digits before the suffix'],
    ['1e99999', 'exponent out of range'],
  ])('%j: %s', (input, reason) => {
    let caught: unknown;
    try {
      parseQuantity(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(QuantityParseError);
    const err = caught as QuantityParseError;
    expect(err.input).toBe(input);
    expect(err.message).toContain(`invalid quantity ${JSON.stringify(input)}: `);
    expect(err.message).toContain(reason);
  });
});

describe('large values', () => {
  it('clamps binary quantities at 2^63-1 as apimachinery does', () => {
    for (const input of ['8Ei', '10Ei']) {
      const q = parseQuantity(input);
      expect(q.toString()).toBe('9223372036854775807');
      expect(q.value()).toBe(9223372036854775807n);
    }
  });

  it('keeps decimal values beyond int64 exact, and int64Value refuses them', () => {
    const q = parseQuantity('99999999999999999999');
    expect(q.toString()).toBe('99999999999999999999');
    expect(q.value()).toBe(99999999999999999999n);
    expect(() => q.int64Value()).toThrow('quantity 99999999999999999999 is too large');
    expect(parseQuantity('9223372036854775807').int64Value()).toBe(9223372036854775807n);
  });

  it('spells beyond-exa DecimalSI values with an exponent instead of dropping it', () => {
    // apimachinery prints "1" here (the value of 1000E is lost); we keep the value.
    expect(parseQuantity('1000E').toString()).toBe('1e21');
  });
});

describe('comparison', () => {
  it.each([
    ['1Gi', '1073741824', 0],
    ['1.5Gi', '1536Mi', 0],
    ['1G', '1Gi', -1],
    ['100m', '1', -1],
    ['2', '1999m', 1],
    ['-1', '0', -1],
    ['1e3', '1k', 0],
    ['1n', '0', 1],
  ])('%s vs %s → %d', (a, b, expected) => {
    expect(parseQuantity(a).cmp(parseQuantity(b))).toBe(expected);
    expect(parseQuantity(b).cmp(parseQuantity(a))).toBe(-expected || 0);
    expect(parseQuantity(a).equals(parseQuantity(b))).toBe(expected === 0);
  });

  it('reports sign and zero', () => {
    expect(parseQuantity('-5m').sign()).toBe(-1);
    expect(Quantity.zero().isZero()).toBe(true);
    expect(Quantity.fromBigInt(3n).sign()).toBe(1);
  });

  it('serialises to JSON as its string', () => {
    expect(JSON.stringify({ storage: parseQuantity('1.5Gi') })).toBe('{"storage":"1536Mi"}');
  });
});

// Expected strings come from resource.NewQuantity(bytes, resource.BinarySI).String().
describe('bytesToQuantity', () => {
  it.each([
    [0n, '0'],
    [500n, '500'],
    [999n, '999'],
    [1000n, '1k'],
    [2000n, '2000'],
    [1024n, '1Ki'],
    [1536n, '1536'],
    [1048576000n, '1000Mi'],
    [1073741824n, '1Gi'],
    [1500000000n, '1500000000'],
    [5368709120n, '5Gi'],
    [-1024n, '-1Ki'],
    [9223372036854775807n, '9223372036854775807'],
  ])('%s bytes → %s', (bytes, text) => {
    expect(bytesToQuantity(bytes)).toBe(text);
  });

  it('refuses sizes beyond int64', () => {
    expect(() => bytesToQuantity(1n << 63n)).toThrow('does not fit in a signed 64-bit integer');
  });
});
