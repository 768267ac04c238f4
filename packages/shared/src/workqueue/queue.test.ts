import { describe, expect, it } from '@jest/globals';
import { flushMicrotasks } from '../lifecycle/clock.js';
import { WorkQueue } from './queue.js';

describe('WorkQueue', () => {
  it('deduplicates keys that are queued and hands them out in FIFO order', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('never hands out a key that is being processed; a re-add runs once more after done', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    const first = await q.get();
    expect(first).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0); // kept dirty, not queued, while processing
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await flushMicrotasks();
    expect(second).toBeUndefined();
    q.done('a');
    await flushMicrotasks();
    expect(second).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
    expect(q.processingCount()).toBe(0);
  });

  it('get waits for an add and wakes waiters in order', async () => {
    const q = new WorkQueue<string>();
    const got: string[] = [];
    const p1 = q.get().then((k) => got.push(`w1:${k}`));
    const p2 = q.get().then((k) => got.push(`w2:${k}`));
    q.add('x');
    q.add('y');
    await Promise.all([p1, p2]);
    expect(got).toEqual(['w1:x', 'w2:y']);
    expect(q.processingCount()).toBe(2);
  });

  it('get resolves undefined when its signal aborts, and the key then goes to the next waiter', async () => {
    const q = new WorkQueue<string>();
    const ac = new AbortController();
    const aborted = q.get(ac.signal);
    const other = q.get();
    ac.abort();
    expect(await aborted).toBeUndefined();
    q.add('k');
    expect(await other).toBe('k');
    expect(await q.get(AbortSignal.abort())).toBeUndefined();
  });

  it('after shutDown ignores adds, still hands out what is queued, then returns undefined', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.shutDown();
    q.add('b');
    expect(q.shuttingDown).toBe(true);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBeUndefined();
  });

  it('shutDown wakes waiting getters with undefined', async () => {
    const q = new WorkQueue<string>();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
  });

  it('shutDownWithDrain waits for keys being processed', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.add('b');
    const a = (await q.get())!;
    const b = (await q.get())!;
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => (drained = true));
    await flushMicrotasks();
    expect(drained).toBe(false);
    q.done(a);
    await flushMicrotasks();
    expect(drained).toBe(false);
    q.done(b);
    await drain;
    expect(drained).toBe(true);
  });

  it('shutDownWithDrain resolves at once when idle, and a later shutDown ends a pending drain', async () => {
    await new WorkQueue<string>().shutDownWithDrain();
    const q = new WorkQueue<string>();
    q.add('a');
    await q.get();
    const drain = q.shutDownWithDrain();
    q.shutDown();
    await drain; // would hang if shutDown did not release it
    expect(q.processingCount()).toBe(1);
  });

  it('ignores done for a key that is not being processed', async () => {
    const q = new WorkQueue<string>();
    q.add('a');
    q.done('a');
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    expect(q.len()).toBe(0);
  });

  it('handles 100k distinct keys with interleaved re-adds', async () => {
    const q = new WorkQueue<string>();
    const n = 100_000;
    for (let i = 0; i < n; i++) q.add(`k${i}`);
    for (let i = 0; i < n; i++) q.add(`k${i}`);
    expect(q.len()).toBe(n);
    let count = 0;
    for (let k = await q.get(); k !== undefined; k = q.len() > 0 ? await q.get() : undefined) {
      count++;
      q.done(k);
    }
    expect(count).toBe(n);
  });

  it('dispose shuts the queue down', () => {
    const q = new WorkQueue<string>();
    q.dispose();
    q.add('a');
    expect(q.len()).toBe(0);
  });
});
