// How a sidecar ends. SIGTERM/SIGINT start a graceful shutdown: stop taking work, let in-flight
// work drain for a bounded time, dispose everything the process owns, exit. A second signal, or
// a drain that overruns its budget, ends things sooner. Crashes (uncaught exceptions, unhandled
// rejections) are logged, written to the termination log, and exit 1.
//
// Exit codes: 0 when the drain and the disposal both finished in time without error; 1 when
// they did not, on a second signal and on a crash. (The Go sidecars do not handle SIGTERM at all
// unless ReleaseLeaderElectionOnExit is on; the runtime then kills them mid-call.)

import { errorText, createLogger, type Logger } from '../logging/logger.js';
import { realClock, type Clock } from './clock.js';
import type { Disposable } from './disposable.js';
import { DEFAULT_TERMINATION_LOG, writeTerminationMessage } from './termination-log.js';

/** The part of `process` used here; tests pass an EventEmitter. */
export interface ProcessEvents {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

export interface ShutdownOptions {
  /** Default: SIGTERM and SIGINT. */
  signals?: readonly string[];
  /** How long onShutdown may take to drain in-flight work. */
  graceMs: number;
  /** How long disposing `root` may take after the drain. Default 5 s. */
  disposeMs?: number;
  /**
   * Stops taking work and drains. `abort` fires when the grace period is over: whatever is
   * still running should give up then.
   */
  onShutdown?: (reason: string, abort: AbortSignal) => Promise<void> | void;
  /** Everything the process owns; disposed after the drain. */
  root?: Disposable;
  exit: (code: number) => void;
  logger?: Logger;
  clock?: Clock;
  events?: ProcessEvents;
}

export interface ShutdownHandle extends Disposable {
  /** Aborted as soon as shutdown starts; components stop accepting new work on it. */
  readonly stopping: AbortSignal;
  /** Starts shutdown as a signal would (e.g. after losing the lease); resolves with the exit code. */
  shutdown(reason: string): Promise<number>;
}

type Outcome = { kind: 'done' } | { kind: 'failed'; error: unknown } | { kind: 'timeout' };

async function withinDeadline(clock: Clock, ms: number, work: () => unknown): Promise<Outcome> {
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = clock.setTimeout(() => resolve({ kind: 'timeout' }), ms);
  });
  const run = (async (): Promise<Outcome> => {
    try {
      await work();
      return { kind: 'done' };
    } catch (error) {
      return { kind: 'failed', error };
    }
  })();
  const outcome = await Promise.race([run, timeout]);
  if (timer !== undefined) clock.clearTimeout(timer);
  return outcome;
}

export function installShutdownHandlers(opts: ShutdownOptions): ShutdownHandle {
  const events: ProcessEvents = opts.events ?? process;
  const clock = opts.clock ?? realClock;
  const logger = opts.logger ?? createLogger();
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const disposeMs = opts.disposeMs ?? 5_000;
  const stopping = new AbortController();
  let running: Promise<number> | undefined;
  let exited = false;

  const exit = (code: number) => {
    if (exited) return;
    exited = true;
    opts.exit(code);
  };

  const shutdown = (reason: string): Promise<number> => {
    running ??= (async () => {
      logger.info('Shutting down', { reason, graceMs: opts.graceMs });
      stopping.abort(new Error(`shutting down (${reason})`));
      let clean = true;

      const drainAbort = new AbortController();
      const drained = await withinDeadline(clock, opts.graceMs, () => opts.onShutdown?.(reason, drainAbort.signal));
      if (drained.kind === 'timeout') {
        clean = false;
        logger.error('Graceful shutdown did not finish in time; abandoning in-flight work', undefined, {
          graceMs: opts.graceMs,
        });
        drainAbort.abort(new Error('shutdown grace period is over'));
      } else if (drained.kind === 'failed') {
        clean = false;
        logger.error('Graceful shutdown failed', drained.error);
      }

      if (opts.root) {
        const root = opts.root;
        const disposed = await withinDeadline(clock, disposeMs, () => root.dispose());
        if (disposed.kind === 'timeout') {
          clean = false;
          logger.error('Releasing resources did not finish in time', undefined, { disposeMs });
        } else if (disposed.kind === 'failed') {
          clean = false;
          logger.error('Releasing resources failed', disposed.error);
        }
      }

      const code = clean ? 0 : 1;
      logger.info('Exiting', { code });
      exit(code);
      return code;
    })();
    return running;
  };

  const listeners = signals.map((signal) => {
    const listener = () => {
      if (running) {
        logger.warn('Received a second signal during shutdown; exiting now', { signal });
        exit(1);
        return;
      }
      void shutdown(signal);
    };
    events.on(signal, listener);
    return { signal, listener };
  });

  return {
    stopping: stopping.signal,
    shutdown,
    dispose() {
      for (const { signal, listener } of listeners) events.off(signal, listener);
    },
  };
}

export interface CrashHandlerOptions {
  logger: Logger;
  exit: (code: number) => void;
  terminationLogPath?: string;
  events?: ProcessEvents;
}

/**
 * Makes an uncaught exception or an unhandled rejection end the process the same way every time:
 * one error line in the log, the message in the termination log, exit 1.
 */
export function installCrashHandlers(opts: CrashHandlerOptions): Disposable {
  const events: ProcessEvents = opts.events ?? process;
  const path = opts.terminationLogPath ?? DEFAULT_TERMINATION_LOG;
  let crashed = false;

  const crash = (what: string, err: unknown) => {
    if (crashed) return;
    crashed = true;
    const fields = err instanceof Error && err.stack ? { stack: err.stack } : undefined;
    opts.logger.error(what, err, fields);
    writeTerminationMessage(`${what}: ${errorText(err)}`, path);
    opts.exit(1);
  };
  const onException = (err: unknown) => crash('Uncaught exception', err);
  const onRejection = (reason: unknown) => crash('Unhandled promise rejection', reason);
  events.on('uncaughtException', onException);
  events.on('unhandledRejection', onRejection);
  return {
    dispose() {
      events.off('uncaughtException', onException);
      events.off('unhandledRejection', onRejection);
    },
  };
}
