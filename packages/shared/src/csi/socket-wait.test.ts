import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../lifecycle/clock.js';
import { SocketWaitTimeoutError, waitForSocket } from './socket-wait.js';

const dir = mkdtempSync(join(tmpdir(), 'csi-sock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function listen(path: string): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(path, () => resolve(server));
  });
}

describe('waitForSocket', () => {
  it('resolves once a unix socket exists at the path', async () => {
    const clock = new FakeClock();
    const path = join(dir, 'late.sock');
    const seen: string[] = [];
    let firstPoll!: () => void;
    const polled = new Promise<void>((resolve) => (firstPoll = resolve));
    const waiting = waitForSocket(path, {
      clock,
      deadline: clock.now() + 30_000,
      pollIntervalMs: 100,
      onWaiting: (found) => {
        seen.push(found);
        firstPoll();
      },
    });
    await polled; // stat() is real I/O: the first poll has found nothing
    const server = await listen(path);
    try {
      let done = false;
      void waiting.then(() => (done = true));
      const until = Date.now() + 5000;
      while (!done && Date.now() < until) await clock.advance(100);
      await waiting;
      expect(seen.length).toBeGreaterThanOrEqual(1);
      expect(seen.every((s) => s === 'nothing')).toBe(true);
    } finally {
      server.close();
    }
  });

  it('does not accept a regular file and gives up at the deadline', async () => {
    const clock = new FakeClock();
    const path = join(dir, 'not-a-socket');
    writeFileSync(path, 'x');
    const outcome = waitForSocket(path, { clock, deadline: clock.now() + 1000, pollIntervalMs: 100 }).catch((e: unknown) => e);
    await clock.advance(1000);
    const err = await outcome;
    expect(err).toBeInstanceOf(SocketWaitTimeoutError);
    expect((err as Error).message).toBe(`${path} exists but is not a unix socket`);
  });

  it('stops when the signal aborts', async () => {
    const clock = new FakeClock();
    const abort = new AbortController();
    const outcome = waitForSocket(join(dir, 'never.sock'), {
      clock,
      deadline: clock.now() + 30_000,
      pollIntervalMs: 100,
      signal: abort.signal,
    }).catch((e: unknown) => e);
    await clock.advance(300);
    const reason = new Error('stop');
    abort.abort(reason);
    expect(await outcome).toBe(reason);
  });
});
