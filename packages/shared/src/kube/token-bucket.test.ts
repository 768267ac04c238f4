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
  it('a deferrable request takes a free token at once', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 5, burst: 2, clock });
    await expect(b.acquireDeferrable()).resolves.toBe(0);
    expect(b.available).toBe(1);
  });

  it('a deferrable request lets requests that arrive after it go first, while they keep coming', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 10, burst: 1, clock, maxDeferMs: 10_000 });
    const done: string[] = [];
    await b.acquire();
    void b.acquireDeferrable().then(() => done.push('event'));
    void b.acquire().then(() => done.push('a'));
    await flushMicrotasks();
    void b.acquire().then(() => done.push('b'));
    await clock.advance(100);
    expect(done).toEqual(['a']);
    await clock.advance(100);
    expect(done).toEqual(['a', 'b']);
    // Nothing reserved any more: the event gets the next token.
    await clock.advance(100);
    expect(done).toEqual(['a', 'b', 'event']);
    expect(b.tryAcquire()).toBe(false);
  });

  it('a deferrable request queues like any other after maxDeferMs: delayed, never starved', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 10, burst: 1, clock, maxDeferMs: 500 });
    await b.acquire();
    let eventAt: number | undefined;
    const start = clock.now();
    void b.acquireDeferrable().then(() => (eventAt = clock.now() - start));
    // Controllers keep two requests reserved ahead at all times.
    let stop = false;
    const pump = async () => {
      while (!stop) await b.acquire();
    };
    void pump();
    void pump();
    for (let t = 0; t < 3000 && eventAt === undefined; t += 50) await clock.advance(50);
    stop = true;
    expect(eventAt).toBeDefined();
    // Deferred for maxDeferMs, then behind the (at most two) reservations made before it queued.
    expect(eventAt!).toBeGreaterThanOrEqual(500);
    expect(eventAt!).toBeLessThanOrEqual(500 + 300);
  });

  it('an aborted deferrable wait rejects with the reason and holds no token', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 1, burst: 1, clock });
    await b.acquire();
    const ac = new AbortController();
    const waiting = b.acquireDeferrable(ac.signal);
    await flushMicrotasks();
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    await clock.advance(1000);
    expect(b.available).toBe(1);
  });
  it('deferrable requests leave half the burst to the others', async () => {
    const clock = new FakeClock();
    const b = new TokenBucket({ qps: 5, burst: 10, clock });
    const events: number[] = [];
    for (let i = 0; i < 8; i++) void b.acquireDeferrable().then(() => events.push(i));
    await flushMicrotasks();
    // Five went at once; the other three wait while five tokens stay for ordinary requests.
    expect(events).toEqual([0, 1, 2, 3, 4]);
    expect(b.available).toBe(5);
    for (let i = 0; i < 5; i++) expect(b.tryAcquire()).toBe(true);
  });
});
