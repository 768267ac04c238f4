import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLogger } from '../logging/logger.js';
import { FakeClock, flushMicrotasks } from './clock.js';
import { DisposableStore } from './disposable.js';
import { installCrashHandlers, installShutdownHandlers, type ShutdownOptions } from './shutdown.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function setup(overrides: Partial<ShutdownOptions> = {}) {
  const events = new EventEmitter();
  const clock = new FakeClock();
  const { logger, lines } = memoryLogger();
  const exits: number[] = [];
  const root = new DisposableStore();
  const order: string[] = [];
  root.defer(() => void order.push('root disposed'));
  const handle = installShutdownHandlers({
    graceMs: 10_000,
    exit: (code) => void exits.push(code),
    root,
    logger,
    clock,
    events,
    ...overrides,
  });
  return { events, clock, lines, exits, root, order, handle };
}

describe('installShutdownHandlers', () => {
  it('drains, disposes the root and exits 0 on SIGTERM', async () => {
    const drained = deferred();
    const seen: string[] = [];
    const t = setup({
      onShutdown: async (reason) => {
        seen.push(reason);
        await drained.promise;
        t.order.push('drained');
      },
    });
    t.events.emit('SIGTERM');
    await flushMicrotasks();
    expect(t.handle.stopping.aborted).toBe(true);
    expect(seen).toEqual(['SIGTERM']);
    expect(t.exits).toEqual([]);
    expect(t.root.isDisposed).toBe(false);

    drained.resolve();
    await flushMicrotasks();
    expect(t.order).toEqual(['drained', 'root disposed']);
    expect(t.exits).toEqual([0]);
  });

  it('handles SIGINT the same way', async () => {
    const t = setup();
    t.events.emit('SIGINT');
    await flushMicrotasks();
    expect(t.exits).toEqual([0]);
    expect(t.root.isDisposed).toBe(true);
  });

  it('gives up on the drain after the grace period: aborts it, still disposes, exits 1', async () => {
    let drainAbort: AbortSignal | undefined;
    const t = setup({
      onShutdown: (_reason, abort) => {
        drainAbort = abort;
        return new Promise<void>(() => undefined);
      },
    });
    t.events.emit('SIGTERM');
    await t.clock.advance(9_999);
    expect(t.exits).toEqual([]);
    expect(drainAbort?.aborted).toBe(false);

    await t.clock.advance(1);
    expect(drainAbort?.aborted).toBe(true);
    expect(t.root.isDisposed).toBe(true);
    expect(t.exits).toEqual([1]);
    expect(t.lines.some((l) => l.includes('Graceful shutdown did not finish in time'))).toBe(true);
  });

  it('exits 1 at once on a second signal, and only once', async () => {
    const drained = deferred();
    const t = setup({ onShutdown: () => drained.promise });
    t.events.emit('SIGTERM');
    await flushMicrotasks();
    t.events.emit('SIGINT');
    expect(t.exits).toEqual([1]);

    drained.resolve();
    await flushMicrotasks();
    expect(t.exits).toEqual([1]);
  });

  it('exits 1 when the drain fails, after disposing', async () => {
    const t = setup({
      onShutdown: async () => {
        throw new Error('could not release lease');
      },
    });
    t.events.emit('SIGTERM');
    await flushMicrotasks();
    expect(t.root.isDisposed).toBe(true);
    expect(t.exits).toEqual([1]);
    expect(t.lines.some((l) => l.includes('could not release lease'))).toBe(true);
  });

  it('bounds the disposal too', async () => {
    const t = setup({ disposeMs: 1_000 });
    t.root.defer(() => new Promise<void>(() => undefined));
    t.events.emit('SIGTERM');
    await t.clock.advance(999);
    expect(t.exits).toEqual([]);
    await t.clock.advance(1);
    expect(t.exits).toEqual([1]);
  });

  it('exits 1 when a disposable fails', async () => {
    const t = setup();
    t.root.defer(() => {
      throw new Error('socket close failed');
    });
    t.events.emit('SIGTERM');
    await flushMicrotasks();
    expect(t.exits).toEqual([1]);
  });

  it('can be started by the program (e.g. lost lease) and returns the exit code once', async () => {
    const t = setup();
    const first = t.handle.shutdown('lost leader election');
    const second = t.handle.shutdown('again');
    expect(await first).toBe(0);
    expect(await second).toBe(0);
    expect(t.exits).toEqual([0]);
    expect(t.lines.some((l) => l.includes('lost leader election'))).toBe(true);
  });

  it('removes its signal listeners when disposed', () => {
    const t = setup();
    expect(t.events.listenerCount('SIGTERM')).toBe(1);
    void t.handle.dispose();
    expect(t.events.listenerCount('SIGTERM')).toBe(0);
    expect(t.events.listenerCount('SIGINT')).toBe(0);
  });
});

describe('installCrashHandlers', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'crash-'));
    path = join(dir, 'termination-log');
    writeFileSync(path, '');
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function crashSetup() {
    const events = new EventEmitter();
    const { logger, lines } = memoryLogger();
    const exits: number[] = [];
    const handle = installCrashHandlers({ logger, exit: (c) => void exits.push(c), terminationLogPath: path, events });
    return { events, lines, exits, handle };
  }

  it('logs an uncaught exception, writes the termination log and exits 1, once', () => {
    const t = crashSetup();
    t.events.emit('uncaughtException', new Error('kaput'));
    t.events.emit('uncaughtException', new Error('second'));
    expect(t.exits).toEqual([1]);
    expect(readFileSync(path, 'utf8')).toBe('Uncaught exception: kaput');
    expect(t.lines).toHaveLength(1);
    expect(JSON.parse(t.lines[0]!)).toMatchObject({ level: 'error', msg: 'Uncaught exception', err: 'kaput' });
  });

  it('handles an unhandled rejection with a non-Error reason', () => {
    const t = crashSetup();
    t.events.emit('unhandledRejection', 'plain reason');
    expect(t.exits).toEqual([1]);
    expect(readFileSync(path, 'utf8')).toBe('Unhandled promise rejection: plain reason');
  });

  it('removes its listeners when disposed', () => {
    const t = crashSetup();
    void t.handle.dispose();
    expect(t.events.listenerCount('uncaughtException')).toBe(0);
    expect(t.events.listenerCount('unhandledRejection')).toBe(0);
  });
});
