import { describe, expect, it } from '@jest/globals';
import { parseListenAddress } from './address.js';

describe('parseListenAddress', () => {
  it('accepts the forms Go net.Listen accepts', () => {
    expect(parseListenAddress(':8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseListenAddress('0.0.0.0:9808')).toEqual({ host: '0.0.0.0', port: 9808 });
    expect(parseListenAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseListenAddress('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseListenAddress('[::]:80')).toEqual({ host: '::', port: 80 });
  });

  it('rejects malformed values naming the flag', () => {
    expect(() => parseListenAddress('')).toThrow('invalid --http-endpoint "": empty');
    expect(() => parseListenAddress('8080')).toThrow(/missing port/);
    expect(() => parseListenAddress('host:')).toThrow(/missing port/);
    expect(() => parseListenAddress(':http')).toThrow(/port "http" is not a number/);
    expect(() => parseListenAddress(':70000')).toThrow(/port 70000 is out of range/);
    expect(() => parseListenAddress('::1:8080')).toThrow(/IPv6 addresses must be written in brackets/);
    expect(() => parseListenAddress('[::1]8080')).toThrow(/missing port/);
    expect(() => parseListenAddress('[::1:8080')).toThrow(/missing "]"/);
    expect(() => parseListenAddress('bad host:1')).toThrow(/whitespace/);
    expect(() => parseListenAddress('x', '--metrics-address')).toThrow(/^invalid --metrics-address "x"/);
  });
});
