// What client-go's EventCorrelator decides for each event before it is written:
//   1. aggregation: once 10 different messages with the same object+type+reason arrive within
//      10 minutes, further ones are folded into one "(combined from similar events): ..." event;
//   2. de-duplication: an event identical to one already written (same source, object, type,
//      reason, message) becomes a PATCH of that Event's count/lastTimestamp/message instead of a
//      new object;
//   3. spam filter: per source+object+type, a token bucket (burst 25, one more every 5 minutes)
//      drops events beyond that rate.
// Pure bookkeeping over an injected clock; the recorder does the I/O.

import type { Clock } from '../lifecycle/clock.js';
import { TokenBucket } from '../kube/token-bucket.js';
import { LruCache } from './lru.js';
import type { CoreV1EventBody } from './types.js';

export const EVENT_CACHE_SIZE = 4096;
export const AGGREGATE_MAX_EVENTS = 10;
export const AGGREGATE_INTERVAL_MS = 600_000;
export const SPAM_BURST = 25;
export const SPAM_QPS = 1 / 300;
export const COMBINED_MESSAGE_PREFIX = '(combined from similar events): ';

export interface CorrelatorOptions {
  clock: Clock;
  cacheSize?: number;
  spamBurst?: number;
  spamQps?: number;
  aggregateMaxEvents?: number;
  aggregateIntervalMs?: number;
  /** Makes the name of an event (aggregated events need a fresh one). */
  eventName: (objectName: string) => string;
}

export type CorrelationResult =
  | { skip: true }
  | {
      skip: false;
      event: CoreV1EventBody;
      /** Strategic-merge patch for an existing Event; undefined means create. */
      patch: Record<string, unknown> | undefined;
      /** Cache key the outcome of the write must be recorded under (see recordWritten). */
      key: string;
    };

interface Observation {
  count: number;
  firstTimestamp: string;
  name: string;
  resourceVersion: string | undefined;
}

interface AggregateRecord {
  messages: Set<string>;
  lastMs: number;
}

const SEP = '\u0000';

function objectParts(e: CoreV1EventBody): string[] {
  const o = e.involvedObject;
  return [e.source.component, e.source.host ?? '', o.kind, o.namespace ?? '', o.name, o.uid ?? '', o.apiVersion];
}

/** Identity of an exact duplicate. */
export function eventKey(e: CoreV1EventBody): string {
  const o = e.involvedObject;
  return [...objectParts(e), o.fieldPath ?? '', e.type, e.reason, e.message].join(SEP);
}

/** Spam filter bucket: source + object + type (reason and message excluded on purpose). */
export function spamKey(e: CoreV1EventBody): string {
  return [...objectParts(e), e.type].join(SEP);
}

function aggregateKey(e: CoreV1EventBody): string {
  return [...objectParts(e), e.type, e.reason, e.reportingComponent, e.reportingInstance].join(SEP);
}

export class EventCorrelator {
  readonly #clock: Clock;
  readonly #opts: Required<Omit<CorrelatorOptions, 'clock' | 'eventName'>>;
  readonly #eventName: (objectName: string) => string;
  readonly #aggregates: LruCache<string, AggregateRecord>;
  readonly #observations: LruCache<string, Observation>;
  readonly #spam: LruCache<string, TokenBucket>;

  constructor(opts: CorrelatorOptions) {
    this.#clock = opts.clock;
    this.#eventName = opts.eventName;
    this.#opts = {
      cacheSize: opts.cacheSize ?? EVENT_CACHE_SIZE,
      spamBurst: opts.spamBurst ?? SPAM_BURST,
      spamQps: opts.spamQps ?? SPAM_QPS,
      aggregateMaxEvents: opts.aggregateMaxEvents ?? AGGREGATE_MAX_EVENTS,
      aggregateIntervalMs: opts.aggregateIntervalMs ?? AGGREGATE_INTERVAL_MS,
    };
    this.#aggregates = new LruCache(this.#opts.cacheSize);
    this.#observations = new LruCache(this.#opts.cacheSize);
    this.#spam = new LruCache(this.#opts.cacheSize);
  }

  correlate(input: CoreV1EventBody): CorrelationResult {
    const { event: aggregated, key } = this.#aggregate(input);
    const { event, patch } = this.#observe(aggregated, key);
    if (this.#isSpam(event)) return { skip: true };
    return { skip: false, event, patch, key };
  }

  /** Remembers what the apiserver stored, so the next duplicate patches the right object. */
  recordWritten(key: string, stored: CoreV1EventBody): void {
    this.#observations.set(key, {
      count: stored.count,
      firstTimestamp: stored.firstTimestamp,
      name: stored.metadata.name,
      resourceVersion: stored.metadata.resourceVersion,
    });
  }

  #aggregate(event: CoreV1EventBody): { event: CoreV1EventBody; key: string } {
    const now = this.#clock.now();
    const aKey = aggregateKey(event);
    let record = this.#aggregates.get(aKey);
    if (!record || now - record.lastMs > this.#opts.aggregateIntervalMs) record = { messages: new Set(), lastMs: now };
    record.messages.add(event.message);
    record.lastMs = now;
    this.#aggregates.set(aKey, record);
    if (record.messages.size < this.#opts.aggregateMaxEvents) return { event, key: eventKey(event) };
    // Keep the set just below the threshold so every further similar event folds in.
    const first = record.messages.values().next();
    if (!first.done) record.messages.delete(first.value);
    const ts = event.lastTimestamp;
    const combined: CoreV1EventBody = {
      ...event,
      metadata: { name: this.#eventName(event.involvedObject.name), namespace: event.metadata.namespace },
      message: COMBINED_MESSAGE_PREFIX + event.message,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    return { event: combined, key: aKey };
  }

  #observe(event: CoreV1EventBody, key: string): { event: CoreV1EventBody; patch: Record<string, unknown> | undefined } {
    const last = this.#observations.get(key);
    let out = event;
    let patch: Record<string, unknown> | undefined;
    if (last && last.count > 0) {
      out = {
        ...event,
        metadata: { ...event.metadata, name: last.name, resourceVersion: last.resourceVersion },
        firstTimestamp: last.firstTimestamp,
        count: last.count + 1,
      };
      // The fields client-go's two-way strategic merge patch ends up with.
      patch = { count: out.count, lastTimestamp: out.lastTimestamp, message: out.message };
    }
    this.#observations.set(key, {
      count: out.count,
      firstTimestamp: out.firstTimestamp,
      name: out.metadata.name,
      resourceVersion: out.metadata.resourceVersion,
    });
    return { event: out, patch };
  }

  #isSpam(event: CoreV1EventBody): boolean {
    const key = spamKey(event);
    let bucket = this.#spam.get(key);
    if (!bucket) {
      bucket = new TokenBucket({ qps: this.#opts.spamQps, burst: this.#opts.spamBurst, clock: this.#clock });
      this.#spam.set(key, bucket);
    }
    return !bucket.tryAcquire();
  }
}
