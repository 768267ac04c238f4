import { describe, expect, it } from '@jest/globals';
import { FakeClock, flushMicrotasks } from '../lifecycle/clock.js';
import { memoryLogger } from '../logging/logger.js';
import { RateLimitingQueue } from './rate-limiting-queue.js';
import { ItemExponentialFailureRateLimiter } from './rate-limiters.js';
import { runWorkers } from './workers.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function setup() {
  const clock = new FakeClock();
  const q = new RateLimitingQueue<string>({ name: 'test', clock, rateLimiter: new ItemExponentialFailureRateLimiter(1000, 60_000) });
  return { clock, q };
}

describe('runWorkers', () => {
  it('runs up to n handlers at once, never the same key twice at once', async () => {
    const { q } = setup();
    const ac = new AbortController();
    const gates = new Map<string, ReturnType<typeof deferred>>();
    let running = 0;
    let maxRunning = 0;
    const runs: string[] = [];
    const done = runWorkers(
      q,
      3,
      async (key) => {
        runs.push(key);
        running++;
        maxRunning = Math.max(maxRunning, running);
        const gate = deferred();
        gates.set(key, gate);
        await gate.promise;
        running--;
      },
      ac.signal,
    );
    for (const k of ['a', 'b', 'c', 'd']) q.add(k);
    await flushMicrotasks();
    expect(running).toBe(3);
    q.add('a'); // while 'a' runs: must wait, then run once more
    await flushMicrotasks();
    expect(runs).toEqual(['a', 'b', 'c']);
    gates.get('a')!.resolve();
    await flushMicrotasks();
    // 'd' was queued before the re-added 'a'.
    expect(runs).toEqual(['a', 'b', 'c', 'd']);
    for (const k of ['b', 'c', 'd']) gates.get(k)!.resolve();
    await flushMicrotasks();
    expect(runs).toEqual(['a', 'b', 'c', 'd', 'a']);
    gates.get('a')!.resolve();
    await flushMicrotasks();
    expect(maxRunning).toBe(3);
    ac.abort();
    await done;
  });

  it('a throwing handler is logged and retried with backoff; the worker survives', async () => {
    const { clock, q } = setup();
    const { logger, lines } = memoryLogger();
    const ac = new AbortController();
    const seen: string[] = [];
    let failures = 2;
    const done = runWorkers(
      q,
      1,
      (key) => {
        seen.push(key);
        if (key === 'bad' && failures-- > 0) throw new Error('driver said no');
      },
      ac.signal,
      { logger },
    );
    q.add('bad');
    await flushMicrotasks();
    expect(seen).toEqual(['bad']);
    expect(q.numRequeues('bad')).toBe(1);
    expect(lines.some((l) => l.includes('driver said no') && l.includes('"queue":"test"') && l.includes('"key":"bad"'))).toBe(true);
    q.add('good'); // the worker is still alive
    await flushMicrotasks();
    expect(seen).toEqual(['bad', 'good']);
    await clock.advance(1000);
    expect(seen).toEqual(['bad', 'good', 'bad']);
    expect(q.numRequeues('bad')).toBe(2);
    await clock.advance(1999);
    expect(seen).toHaveLength(3);
    await clock.advance(1);
    expect(seen).toEqual(['bad', 'good', 'bad', 'bad']);
    expect(q.numRequeues('bad')).toBe(0); // success forgets
    ac.abort();
    await done;
  });

  it('honours requeueAfterMs and requeue: rateLimited', async () => {
    const { clock, q } = setup();
    const ac = new AbortController();
    const seen: string[] = [];
    const done = runWorkers(
      q,
      2,
      (key) => {
        seen.push(key);
        if (seen.length === 1) return { requeueAfterMs: 30_000 };
        if (seen.length === 2) return { requeue: 'rateLimited' };
        return undefined;
      },
      ac.signal,
    );
    q.add('poll');
    await flushMicrotasks();
    expect(q.numRequeues('poll')).toBe(0);
    await clock.advance(29_999);
    expect(seen).toHaveLength(1);
    await clock.advance(1);
    expect(seen).toHaveLength(2);
    expect(q.numRequeues('poll')).toBe(1);
    await clock.advance(1000);
    expect(seen).toHaveLength(3);
    expect(q.numRequeues('poll')).toBe(0);
    ac.abort();
    await done;
  });

  it('on abort takes no new keys, lets in-flight handlers finish, and leaves the queue open', async () => {
    const { q } = setup();
    const ac = new AbortController();
    const gate = deferred();
    const seen: string[] = [];
    let finished = false;
    let handlerSignal: AbortSignal | undefined;
    const done = runWorkers(
      q,
      1,
      async (key, signal) => {
        seen.push(key);
        handlerSignal = signal;
        await gate.promise;
        finished = true;
      },
      ac.signal,
    ).then(() => 'stopped');
    q.add('a');
    q.add('b');
    await flushMicrotasks();
    ac.abort();
    await flushMicrotasks();
    expect(await Promise.race([done, Promise.resolve('running')])).toBe('running');
    gate.resolve();
    expect(await done).toBe('stopped');
    expect(finished).toBe(true);
    expect(seen).toEqual(['a']);
    expect(handlerSignal?.aborted).toBe(true);
    expect(q.shuttingDown).toBe(false);
    expect(q.len()).toBe(1);
    expect(q.processingCount()).toBe(0);
  });

  it('puts back a key handed over at the moment of the abort', async () => {
    const { q } = setup();
    const ac = new AbortController();
    const seen: string[] = [];
    const done = runWorkers(q, 1, (k) => void seen.push(k), ac.signal);
    await flushMicrotasks(); // the worker now waits in get()
    q.add('a'); // handed to the waiting worker at once...
    ac.abort(); // ...which is stopped before it runs
    await done;
    expect(seen).toEqual([]);
    expect(q.len()).toBe(1);
    expect(q.processingCount()).toBe(0);
    expect(q.numRequeues('a')).toBe(0);
  });

  it('stops when the queue is shut down and drained', async () => {
    const { q } = setup();
    const seen: string[] = [];
    const done = runWorkers(q, 2, (k) => void seen.push(k), new AbortController().signal);
    q.add('a');
    q.shutDown();
    await done;
    expect(seen).toEqual(['a']);
  });

  it('rejects a bad worker count', async () => {
    const { q } = setup();
    await expect(runWorkers(q, 0, () => undefined, new AbortController().signal)).rejects.toThrow(/worker count must be an integer >= 1, got 0/);
  });
});
