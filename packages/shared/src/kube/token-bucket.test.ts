import { describe, it, expect } from '@jest/globals';
import { FakeClock, flushMicrotasks } from '../lifecycle/clock.js';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then refills at qps', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 5, burst: 3, clock });
    expect([b.tryAcquire(), b.tryAcquire(), b.tryAcquire(), b.tryAcquire()]).toEqual([true, true, true, false]);
    await clock.advance(199);
    expect(b.tryAcquire()).toBe(false);
    await clock.advance(1);
    expect(b.tryAcquire()).toBe(true);
    // Idle time never fills beyond the burst.
    await clock.advance(60_000);
    expect(b.available).toBe(3);
  });

  it('acquire waits in arrival order', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 10, burst: 1, clock });
    const done: string[] = [];
    await b.acquire();
    void b.acquire().then(() => done.push('a'));
    void b.acquire().then(() => done.push('b'));
    await flushMicrotasks();
    expect(done).toEqual([]);
    // tryAcquire cannot overtake the two reservations.
    expect(b.tryAcquire()).toBe(false);
    await clock.advance(100);
    expect(done).toEqual(['a']);
    await clock.advance(100);
    expect(done).toEqual(['a', 'b']);
  });

  it('gives the token back when the wait is aborted', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 1, burst: 1, clock });
    expect(b.tryAcquire()).toBe(true);
    const ac = new AbortController();
    const p = b.acquire(ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    await clock.advance(1000);
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
  });

  it('rejects at once with an already aborted signal', async () => {
    const b = new TokenBucket({ qps: 1, burst: 1, clock: new FakeClock() });
    const ac = new AbortController();
    ac.abort(new Error('gone'));
    await expect(b.acquire(ac.signal)).rejects.toThrow('gone');
    expect(b.tryAcquire()).toBe(true);
  });

  it('does not limit when qps is 0 or negative', async () => {
    const b = new TokenBucket({ qps: -1, burst: 1, clock: new FakeClock() });
    expect(b.unlimited).toBe(true);
    for (let i = 0; i < 100; i++) expect(b.tryAcquire()).toBe(true);
    await expect(b.acquire()).resolves.toBe(0);
  });
});
