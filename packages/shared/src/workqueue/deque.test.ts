import { describe, expect, it } from '@jest/globals';
import { Deque } from './deque.js';

describe('Deque', () => {
  it('is FIFO across growth and wrap-around', () => {
    const d = new Deque<number>();
    const expected: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so the head wraps while the buffer grows and shrinks.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < round * 3; i++) {
        d.push(next);
        expected.push(next++);
      }
      for (let i = 0; i < round * 2; i++) expect(d.shift()).toBe(expected.shift());
      expect(d.length).toBe(expected.length);
      expect(d.peek()).toBe(expected[0]);
    }
    expect([...d]).toEqual(expected);
    while (expected.length > 0) expect(d.shift()).toBe(expected.shift());
    expect(d.shift()).toBeUndefined();
    expect(d.peek()).toBeUndefined();
    expect(d.length).toBe(0);
  });

  it('handles hundreds of thousands of items (O(1) shift)', () => {
    const d = new Deque<string>();
    const n = 300_000;
    for (let i = 0; i < n; i++) d.push(`k${i}`);
    let ok = true;
    for (let i = 0; i < n; i++) if (d.shift() !== `k${i}`) ok = false;
    expect(ok).toBe(true);
    expect(d.length).toBe(0);
  });

  it('clear empties it', () => {
    const d = new Deque<number>();
    d.push(1);
    d.push(2);
    d.clear();
    expect(d.length).toBe(0);
    d.push(3);
    expect(d.shift()).toBe(3);
  });
});
