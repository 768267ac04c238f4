import { getEventListeners } from 'node:events';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { onSignalAbort } from './abort-fanout.js';

describe('onSignalAbort', () => {
  it('calls every registered callback once when the signal aborts, in registration order', () => {
    const ac = new AbortController();
    const calls: string[] = [];
    onSignalAbort(ac.signal, () => calls.push('a'));
    onSignalAbort(ac.signal, () => calls.push('b'));
    ac.abort();
    ac.abort();
    expect(calls).toEqual(['a', 'b']);
  });

  it('does not call an unregistered callback; unregistering twice or after the abort is harmless', () => {
    const ac = new AbortController();
    const calls: string[] = [];
    const offA = onSignalAbort(ac.signal, () => calls.push('a'));
    const offB = onSignalAbort(ac.signal, () => calls.push('b'));
    offA();
    offA();
    ac.abort();
    offB();
    expect(calls).toEqual(['b']);
  });

  it('keeps the same function registered twice as two registrations', () => {
    const ac = new AbortController();
    let n = 0;
    const fn = () => n++;
    const off1 = onSignalAbort(ac.signal, fn);
    onSignalAbort(ac.signal, fn);
    off1();
    ac.abort();
    expect(n).toBe(1);
  });

  it('adds one listener to the signal however many callbacks, removes it with the last, and does nothing for an aborted signal', () => {
    const ac = new AbortController();
    let added = 0;
    const original = ac.signal.addEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...args: Parameters<AbortSignal['addEventListener']>) => {
      added++;
      original(...args);
    }) as AbortSignal['addEventListener'];
    const offs = Array.from({ length: 50 }, () => onSignalAbort(ac.signal, () => undefined));
    expect(added).toBe(1);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    for (const off of offs.slice(1)) off();
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    offs[0]!();
    // A long-lived signal keeps nothing once its users are gone.
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    ac.abort();
    let called = false;
    onSignalAbort(ac.signal, () => (called = true))();
    expect(called).toBe(false);
  });

  // In a child process: jest turns the rethrown error into a failure of whatever test is running.
  it('runs the other callbacks when one throws and reports the error as uncaught on the next tick', () => {
    const mod = fileURLToPath(new URL('./abort-fanout.ts', import.meta.url));
    const script = `
      const { onSignalAbort } = await import(${JSON.stringify(mod)});
      process.on('uncaughtException', (err) => console.log('uncaught', err.message));
      const ac = new AbortController();
      onSignalAbort(ac.signal, () => { throw new Error('boom'); });
      onSignalAbort(ac.signal, () => console.log('after'));
      ac.abort();
      console.log('aborted');
    `;
    const r = spawnSync(process.execPath, ['--experimental-strip-types', '--no-warnings', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stdout).toBe('after\naborted\nuncaught boom\n');
  });
});
