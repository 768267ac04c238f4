// Waiting for the driver's unix socket to appear: the driver container usually starts at the same
// time as the sidecar and creates the socket a moment later.
import { stat } from 'node:fs/promises';
import type { Clock } from '../lifecycle/clock.js';

export interface WaitForSocketOptions {
  clock: Clock;
  /** Clock time after which to give up. */
  deadline: number;
  pollIntervalMs: number;
  signal?: AbortSignal;
  /** Called once per poll while waiting, with what was found at the path. */
  onWaiting?: (found: 'nothing' | 'not-a-socket') => void;
}

export class SocketWaitTimeoutError extends Error {
  override readonly name = 'SocketWaitTimeoutError';
}

async function probe(path: string): Promise<'socket' | 'nothing' | 'not-a-socket'> {
  try {
    return (await stat(path)).isSocket() ? 'socket' : 'not-a-socket';
  } catch {
    return 'nothing';
  }
}

/** Resolves once `path` is a unix socket; rejects on the deadline or when the signal aborts. */
export async function waitForSocket(path: string, options: WaitForSocketOptions): Promise<void> {
  const { clock, signal } = options;
  for (;;) {
    signal?.throwIfAborted();
    const found = await probe(path);
    if (found === 'socket') return;
    const left = options.deadline - clock.now();
    if (left <= 0) {
      throw new SocketWaitTimeoutError(
        found === 'nothing' ? `socket ${path} did not appear` : `${path} exists but is not a unix socket`,
      );
    }
    options.onWaiting?.(found);
    await clock.sleep(Math.min(options.pollIntervalMs, left), signal);
  }
}
