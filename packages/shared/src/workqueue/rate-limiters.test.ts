import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../lifecycle/clock.js';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  JitteredRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
  sidecarRateLimiter,
} from './rate-limiters.js';

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles per failure up to the cap, per key, and forgets', () => {
    const l = new ItemExponentialFailureRateLimiter<string>(1000, 5000);
    expect([l.when('a'), l.when('a'), l.when('a'), l.when('a'), l.when('a')]).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(l.numRequeues('a')).toBe(5);
    expect(l.when('b')).toBe(1000);
    l.forget('a');
    expect(l.numRequeues('a')).toBe(0);
    expect(l.when('a')).toBe(1000);
  });

  it('stays at the cap after very many failures', () => {
    const l = new ItemExponentialFailureRateLimiter<string>(5, 1_000_000);
    let last = 0;
    for (let i = 0; i < 2000; i++) last = l.when('k');
    expect(last).toBe(1_000_000);
  });

  it('rejects negative delays', () => {
    expect(() => new ItemExponentialFailureRateLimiter(-1, 10)).toThrow(/non-negative/);
  });
});

describe('sidecarRateLimiter', () => {
  it('defaults to 1 s … 5 min like --retry-interval-start/--retry-interval-max', () => {
    const l = sidecarRateLimiter<string>();
    const delays = Array.from({ length: 12 }, () => l.when('k'));
    expect(delays.slice(0, 4)).toEqual([1000, 2000, 4000, 8000]);
    expect(delays[8]).toBe(256_000);
    expect(delays[9]).toBe(300_000);
    expect(delays[11]).toBe(300_000);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through, then spaces requests at 1/qps, and refills over time', async () => {
    const clock = new FakeClock();
    const l = new BucketRateLimiter<string>(10, 100, clock);
    for (let i = 0; i < 100; i++) expect(l.when(`k${i}`)).toBe(0);
    expect(l.when('x')).toBeCloseTo(100);
    expect(l.when('y')).toBeCloseTo(200);
    expect(l.numRequeues('x')).toBe(0);
    await clock.advance(10_200); // pays back the 2-token debt (0.2 s) and refills completely (10 s)
    for (let i = 0; i < 100; i++) expect(l.when(`k${i}`)).toBe(0);
    expect(l.when('z')).toBeCloseTo(100);
  });
});

describe('MaxOfRateLimiter', () => {
  it('returns the largest delay and forwards forget/numRequeues', () => {
    const a = new ItemExponentialFailureRateLimiter<string>(10, 1000);
    const b = new ItemExponentialFailureRateLimiter<string>(25, 30);
    const m = new MaxOfRateLimiter(a, b);
    expect([m.when('k'), m.when('k'), m.when('k')]).toEqual([25, 30, 40]);
    expect(m.numRequeues('k')).toBe(3);
    m.forget('k');
    expect(a.numRequeues('k')).toBe(0);
    expect(b.numRequeues('k')).toBe(0);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('is exponential from 5 ms until the shared bucket runs dry', () => {
    const clock = new FakeClock();
    const l = defaultControllerRateLimiter<string>(clock);
    expect([l.when('k'), l.when('k'), l.when('k')]).toEqual([5, 10, 20]);
    for (let i = 0; i < 97; i++) l.when(`other${i}`);
    // 100 tokens used: the bucket now dominates a fresh key's 5 ms.
    expect(l.when('fresh')).toBeCloseTo(100);
  });
});

describe('JitteredRateLimiter', () => {
  it('subtracts a random share of the base delay, never below zero', () => {
    const inner = new ItemExponentialFailureRateLimiter<string>(1000, 10_000);
    const l = new JitteredRateLimiter(inner, 1000, () => 0.5);
    expect(l.when('k')).toBe(500);
    expect(l.when('k')).toBe(1500);
    expect(l.numRequeues('k')).toBe(2);
    const full = new JitteredRateLimiter(new ItemExponentialFailureRateLimiter<string>(1000, 10_000), 2000, () => 1);
    expect(full.when('k')).toBe(0);
  });
});
