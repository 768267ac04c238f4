import { describe, expect, it } from '@jest/globals';
import {
  formatDurationMs,
  formatGoDuration,
  msToNs,
  nsToMs,
  parseGoBool,
  parseGoDuration,
  parseGoFloat,
  parseGoInt,
  parseGoUint,
} from './go-syntax.js';

// Expected values were produced by Go 1.26's time.ParseDuration and Duration.String.
describe('parseGoDuration', () => {
  it.each([
    ['1m30s', 90_000_000_000n],
    ['300ms', 300_000_000n],
    ['1.5h', 5_400_000_000_000n],
    ['-1s', -1_000_000_000n],
    ['0', 0n],
    ['-0', 0n],
    ['+5s', 5_000_000_000n],
    ['15s', 15_000_000_000n],
    ['2h45m', 9_900_000_000_000n],
    ['1us', 1_000n],
    ['1\u00b5s', 1_000n],
    ['1\u03bcs', 1_000n],
    ['1ns', 1n],
    ['.5s', 500_000_000n],
    ['5.s', 5_000_000_000n],
    ['1h1s', 3_601_000_000_000n],
    ['0.3333333333333s', 333_333_333n],
    ['9223372036s', 9_223_372_036_000_000_000n],
  ])('reads %s', (input, ns) => {
    expect(parseGoDuration(input)).toBe(ns);
  });

  it.each([
    ['1', 'time: missing unit in duration "1"'],
    ['1d', 'time: unknown unit "d" in duration "1d"'],
    ['abc', 'time: invalid duration "abc"'],
    ['', 'time: invalid duration ""'],
    ['.', 'time: invalid duration "."'],
    ['1s ', 'time: unknown unit "s " in duration "1s "'],
    ['9223372037s', 'time: invalid duration "9223372037s"'],
  ])('refuses %j', (input, message) => {
    expect(() => parseGoDuration(input)).toThrow(message);
  });
});

describe('formatGoDuration', () => {
  it.each([
    [0n, '0s'],
    [1n, '1ns'],
    [1_000n, '1\u00b5s'],
    [1_500_000n, '1.5ms'],
    [300_000_000n, '300ms'],
    [333_333_333n, '333.333333ms'],
    [15_000_000_000n, '15s'],
    [60_000_000_000n, '1m0s'],
    [60_500_000_000n, '1m0.5s'],
    [300_000_000_000n, '5m0s'],
    [3_600_000_000_000n, '1h0m0s'],
    [5_400_000_000_000n, '1h30m0s'],
    [3_601_000_000_000n, '1h0m1s'],
    [360_000_000_000_000n, '100h0m0s'],
    [-1_000_000_000n, '-1s'],
  ])('prints %s ns as %s', (ns, text) => {
    expect(formatGoDuration(ns)).toBe(text);
  });

  it('round-trips milliseconds', () => {
    expect(nsToMs(parseGoDuration('1.5ms'))).toBe(1.5);
    expect(msToNs(90_000)).toBe(90_000_000_000n);
    expect(formatDurationMs(600_000)).toBe('10m0s');
  });
});

describe('Go integers, booleans and floats', () => {
  it.each([
    ['42', 42n],
    ['-7', -7n],
    ['+7', 7n],
    ['0x1F', 31n],
    ['0o17', 15n],
    ['017', 15n],
    ['0b101', 5n],
    ['1_000', 1000n],
    ['0', 0n],
  ])('parseGoInt(%s)', (s, v) => {
    expect(parseGoInt(s)).toBe(v);
  });

  it.each(['', 'abc', '1.5', '08', '1__0', '_1', '0x', ' 1'])('parseGoInt refuses %j', (s) => {
    expect(() => parseGoInt(s)).toThrow('parse error');
  });

  it('range-checks 64-bit values', () => {
    expect(parseGoInt('9223372036854775807')).toBe(9223372036854775807n);
    expect(() => parseGoInt('9223372036854775808')).toThrow('value out of range');
    expect(() => parseGoUint('-1')).toThrow('parse error');
    expect(parseGoUint('18446744073709551615')).toBe(18446744073709551615n);
    expect(() => parseGoUint('18446744073709551616')).toThrow('value out of range');
  });

  it('accepts exactly strconv.ParseBool spellings', () => {
    for (const t of ['1', 't', 'T', 'true', 'TRUE', 'True']) expect(parseGoBool(t)).toBe(true);
    for (const f of ['0', 'f', 'F', 'false', 'FALSE', 'False']) expect(parseGoBool(f)).toBe(false);
    for (const bad of ['yes', 'tRUE', '', ' true']) expect(() => parseGoBool(bad)).toThrow('parse error');
  });

  it('reads decimal floats and rounds float32', () => {
    expect(parseGoFloat('5')).toBe(5);
    expect(parseGoFloat('0.5')).toBe(0.5);
    expect(parseGoFloat('1e2')).toBe(100);
    expect(parseGoFloat('.25')).toBe(0.25);
    expect(parseGoFloat('0.1', 32)).toBe(Math.fround(0.1));
    expect(() => parseGoFloat('NaN')).toThrow('parse error');
    expect(() => parseGoFloat('1e999')).toThrow('value out of range');
  });
});
