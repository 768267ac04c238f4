// Kubernetes Events for controllers: a client-go-like recorder (correlation, de-duplication by
// PATCH, spam filter, asynchronous bounded writes) and the helpers around it.
export * from './types.js';
export { objectReference } from './reference.js';
export { LruCache } from './lru.js';
export {
  EventCorrelator,
  eventKey,
  spamKey,
  COMBINED_MESSAGE_PREFIX,
  EVENT_CACHE_SIZE,
  AGGREGATE_MAX_EVENTS,
  AGGREGATE_INTERVAL_MS,
  SPAM_BURST,
  SPAM_QPS,
  type CorrelatorOptions,
  type CorrelationResult,
} from './correlator.js';
export { apiEventSink, type EventSink } from './sink.js';
export {
  KubeEventRecorder,
  MemoryEventRecorder,
  discardEventRecorder,
  eventTimestamp,
  MAX_QUEUED_EVENTS,
  DROPPED_EVENTS_LOG_INTERVAL_MS,
  EVENT_RETRY_DELAY_MS,
  MAX_TRIES_PER_EVENT,
  MAX_EVENT_MESSAGE_LENGTH,
  type EventRecorder,
  type KubeEventRecorderOptions,
} from './recorder.js';
