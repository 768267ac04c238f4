// N async worker loops over a rate-limiting queue: get → handler → done. The handler's result
// decides what happens to the key; a throwing handler never kills its worker.
import { discardLogger, type Logger } from '../logging/logger.js';
import type { QueueKey } from './queue.js';

/**
 * What a handler tells the worker:
 *  - nothing (undefined): success, the key's failure count is forgotten;
 *  - `{ requeueAfterMs }`: success, but look again after that delay (failures forgotten);
 *  - `{ requeue: 'rateLimited' }`: not done yet, retry with the key's backoff (no error logged).
 * A thrown error is logged and retried with backoff.
 */
export type WorkResult = void | undefined | { readonly requeueAfterMs: number } | { readonly requeue: 'rateLimited' };

export type WorkHandler<K> = (key: K, signal: AbortSignal) => WorkResult | Promise<WorkResult>;

/** The part of RateLimitingQueue the workers use. */
export interface WorkerQueue<K> {
  readonly name: string;
  get(signal?: AbortSignal): Promise<K | undefined>;
  add(key: K): void;
  done(key: K): void;
  forget(key: K): void;
  addRateLimited(key: K): void;
  addAfter(key: K, delayMs: number): void;
  numRequeues(key: K): number;
}

export interface RunWorkersOptions {
  logger?: Logger;
}

/**
 * Runs `count` workers until `signal` aborts (workers take no new key after that; in-flight
 * handlers finish) or the queue is shut down and empty. Resolves when every worker has stopped.
 * The queue's lifecycle stays with its owner: this does not shut it down.
 */
export async function runWorkers<K extends QueueKey>(
  queue: WorkerQueue<K>,
  count: number,
  handler: WorkHandler<K>,
  signal: AbortSignal,
  opts: RunWorkersOptions = {},
): Promise<void> {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`queue ${JSON.stringify(queue.name)}: worker count must be an integer >= 1, got ${count}`);
  }
  const log = (opts.logger ?? discardLogger).withValues({ queue: queue.name });
  const worker = async (): Promise<void> => {
    while (!signal.aborted) {
      const key = await queue.get(signal);
      if (key === undefined) return;
      if (signal.aborted) {
        // Handed over just as we were stopped: put it back untouched for whoever runs next.
        queue.add(key);
        queue.done(key);
        return;
      }
      try {
        await processOne(queue, key, handler, signal, log);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: count }, worker));
}

async function processOne<K>(
  queue: WorkerQueue<K>,
  key: K,
  handler: WorkHandler<K>,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  let result: WorkResult;
  try {
    result = await handler(key, signal);
  } catch (err) {
    log.error('Processing failed, will retry', err, { key, requeues: queue.numRequeues(key) });
    queue.addRateLimited(key);
    return;
  }
  if (result && 'requeue' in result) {
    queue.addRateLimited(key);
    return;
  }
  queue.forget(key);
  if (result && 'requeueAfterMs' in result) queue.addAfter(key, result.requeueAfterMs);
}
