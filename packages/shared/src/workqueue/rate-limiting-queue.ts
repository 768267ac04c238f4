// addRateLimited(key) = addAfter(key, limiter.when(key)); forget/numRequeues go to the limiter.
import { DelayingQueue } from './delaying-queue.js';
import type { QueueKey, WorkQueueOptions } from './queue.js';
import type { RateLimiter } from './rate-limiters.js';

export interface RateLimitingQueueOptions<K> extends WorkQueueOptions {
  rateLimiter: RateLimiter<K>;
}

export class RateLimitingQueue<K extends QueueKey> extends DelayingQueue<K> {
  readonly rateLimiter: RateLimiter<K>;

  constructor(opts: RateLimitingQueueOptions<K>) {
    super(opts);
    this.rateLimiter = opts.rateLimiter;
  }

  /** Adds `key` after the limiter's delay for it; records a failure. Ignored once shut down. */
  addRateLimited(key: K): void {
    // Checked here too so a shut-down queue does not inflate the key's failure count.
    if (this.shuttingDown) return;
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Stops tracking `key`'s failures (its next failure starts from the base delay again). */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.numRequeues(key);
  }
}
