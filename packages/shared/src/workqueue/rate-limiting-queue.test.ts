import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../lifecycle/clock.js';
import { RateLimitingQueue } from './rate-limiting-queue.js';
import { ItemExponentialFailureRateLimiter } from './rate-limiters.js';

describe('RateLimitingQueue', () => {
  it('requeues with the per-key backoff and forgets on success', async () => {
    const clock = new FakeClock();
    const q = new RateLimitingQueue<string>({ clock, rateLimiter: new ItemExponentialFailureRateLimiter(1000, 60_000) });
    q.add('k');
    expect(await q.get()).toBe('k');
    q.addRateLimited('k'); // 1 s
    q.done('k');
    expect(q.numRequeues('k')).toBe(1);
    await clock.advance(999);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(await q.get()).toBe('k');
    q.addRateLimited('k'); // 2 s
    q.done('k');
    await clock.advance(1999);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(await q.get()).toBe('k');
    q.forget('k');
    q.done('k');
    expect(q.numRequeues('k')).toBe(0);
  });

  it('does not count failures once shut down', () => {
    const q = new RateLimitingQueue<string>({ clock: new FakeClock(), rateLimiter: new ItemExponentialFailureRateLimiter(1, 10) });
    q.shutDown();
    q.addRateLimited('k');
    expect(q.numRequeues('k')).toBe(0);
  });
});
