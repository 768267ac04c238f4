import { describe, expect, it } from '@jest/globals';
import { DisposableStore, toDisposable } from './disposable.js';

describe('DisposableStore', () => {
  it('disposes in reverse order of registration, once', async () => {
    const order: string[] = [];
    const store = new DisposableStore();
    store.defer(() => void order.push('a'));
    store.add(toDisposable(async () => void order.push('b')));
    await store.dispose();
    await store.dispose();
    expect(order).toEqual(['b', 'a']);
  });

  it('disposes an item added after the store was disposed', async () => {
    const store = new DisposableStore();
    await store.dispose();
    let disposed = false;
    store.defer(() => {
      disposed = true;
    });
    await Promise.resolve();
    expect(disposed).toBe(true);
  });

  it('disposes every item even when one throws, then reports the error', async () => {
    const store = new DisposableStore();
    let second = false;
    store.defer(() => {
      second = true;
    });
    store.defer(() => {
      throw new Error('boom');
    });
    await expect(store.dispose()).rejects.toThrow('boom');
    expect(second).toBe(true);
  });
});
