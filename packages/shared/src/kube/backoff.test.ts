import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../lifecycle/clock.js';
import { JitteredBackoff } from './backoff.js';

describe('JitteredBackoff', () => {
  it('doubles from 800ms up to the 30s cap', () => {
    const b = new JitteredBackoff(new FakeClock(), () => 0);
    expect(Array.from({ length: 8 }, () => b.next())).toEqual([800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  });

  it('adds up to 100% jitter but never exceeds the cap', () => {
    const b = new JitteredBackoff(new FakeClock(), () => 0.5);
    expect(b.next()).toBe(1200);
    expect(b.next()).toBe(2400);
    const capped = new JitteredBackoff(new FakeClock(), () => 0.99, { initialMs: 20_000 });
    expect(capped.next()).toBe(30_000);
  });

  it('starts over after two quiet minutes', async () => {
    const clock = new FakeClock();
    const b = new JitteredBackoff(clock, () => 0);
    b.next();
    b.next();
    await clock.advance(60_000);
    expect(b.next()).toBe(3200);
    await clock.advance(120_001);
    expect(b.next()).toBe(800);
  });
});
