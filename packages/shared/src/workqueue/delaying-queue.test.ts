import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../lifecycle/clock.js';
import { DelayingQueue } from './delaying-queue.js';

function setup() {
  const clock = new FakeClock();
  const q = new DelayingQueue<string>({ clock });
  return { clock, q };
}

describe('DelayingQueue', () => {
  it('adds a key only after its delay', async () => {
    const { clock, q } = setup();
    q.addAfter('a', 1000);
    expect(q.len()).toBe(0);
    expect(q.waitingCount()).toBe(1);
    await clock.advance(999);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    expect(q.waitingCount()).toBe(0);
    expect(await q.get()).toBe('a');
  });

  it('adds at once for a zero or negative delay', () => {
    const { q } = setup();
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    expect(q.len()).toBe(2);
  });

  it('keeps one waiting entry per key and only ever moves it earlier', async () => {
    const { clock, q } = setup();
    q.addAfter('a', 5000);
    q.addAfter('a', 1000);
    q.addAfter('a', 3000);
    expect(q.waitingCount()).toBe(1);
    await clock.advance(1000);
    expect(q.len()).toBe(1);
    await q.get();
    await clock.advance(10_000);
    expect(q.len()).toBe(0); // the later requests were merged into the first
  });

  it('releases keys in ready-time order, ties in insertion order', async () => {
    const { clock, q } = setup();
    q.addAfter('c', 300);
    q.addAfter('a', 100);
    q.addAfter('b', 200);
    q.addAfter('d', 200);
    await clock.advance(300);
    const got: string[] = [];
    while (q.len() > 0) got.push((await q.get())!);
    expect(got).toEqual(['a', 'b', 'd', 'c']);
  });

  it('uses a single timer however many keys wait, re-armed for long delays', async () => {
    const { clock, q } = setup();
    for (let i = 0; i < 1000; i++) q.addAfter(`k${i}`, 60_000 + i);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(59_999);
    expect(q.len()).toBe(0);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(1000);
    expect(q.len()).toBe(1000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('an earlier key re-arms the timer', async () => {
    const { clock, q } = setup();
    q.addAfter('late', 9000);
    q.addAfter('early', 100);
    await clock.advance(100);
    expect(await q.get()).toBe('early');
  });

  it('a waiting key does not block the same key being added directly', async () => {
    const { clock, q } = setup();
    q.addAfter('a', 1000);
    q.add('a');
    expect(await q.get()).toBe('a');
    q.done('a');
    await clock.advance(1000);
    expect(q.len()).toBe(1);
  });

  it('shutting down drops waiting keys and their timer; addAfter is then ignored', async () => {
    const { clock, q } = setup();
    q.addAfter('a', 1000);
    q.shutDown();
    expect(clock.pendingTimers).toBe(0);
    q.addAfter('b', 10);
    await clock.advance(2000);
    expect(q.len()).toBe(0);
    expect(q.waitingCount()).toBe(0);
  });
});
