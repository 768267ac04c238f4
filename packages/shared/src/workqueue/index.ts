export { Deque } from './deque.js';
export { WorkQueue, type QueueKey, type WorkQueueOptions } from './queue.js';
export { DelayingQueue } from './delaying-queue.js';
export { RateLimitingQueue, type RateLimitingQueueOptions } from './rate-limiting-queue.js';
export {
  BucketRateLimiter,
  DEFAULT_RETRY_INTERVAL_MAX_MS,
  DEFAULT_RETRY_INTERVAL_START_MS,
  ItemExponentialFailureRateLimiter,
  JitteredRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
  sidecarRateLimiter,
  type RateLimiter,
} from './rate-limiters.js';
export {
  WORKQUEUE_DURATION_BUCKETS,
  noQueueMetrics,
  workQueueMetrics,
  type QueueMetrics,
  type WorkQueueMetricsProvider,
} from './metrics.js';
export { runWorkers, type RunWorkersOptions, type WorkHandler, type WorkResult, type WorkerQueue } from './workers.js';
