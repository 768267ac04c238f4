// The event recorder controllers use: event() returns at once and never throws; a background
// writer correlates each event (see correlator.ts) and creates or patches it, retrying transport
// failures a few times the way client-go's broadcaster does. The queue is bounded: when the
// apiserver cannot keep up, new events are dropped (and logged) instead of growing memory.

import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../lifecycle/clock.js';
import { realClock } from '../lifecycle/clock.js';
import type { Disposable } from '../lifecycle/disposable.js';
import type { Logger } from '../logging/logger.js';
import { discardLogger } from '../logging/logger.js';
import { isAlreadyExists, isNotFound, toKubeApiError } from '../kube/errors.js';
import type { CorrelationResult } from './correlator.js';
import { EventCorrelator } from './correlator.js';
import type { EventSink } from './sink.js';
import type { CoreV1EventBody, EventSource, EventType, ObjectReference } from './types.js';

/** What controllers depend on: fire-and-forget, never throws. */
export interface EventRecorder {
  event(subject: ObjectReference, type: EventType, reason: string, message: string): void;
}

export const MAX_QUEUED_EVENTS = 1000;
/** Under a flood every new event is dropped: one error line per interval says how many. */
export const DROPPED_EVENTS_LOG_INTERVAL_MS = 10_000;
export const EVENT_RETRY_DELAY_MS = 10_000;
export const MAX_TRIES_PER_EVENT = 12;
/** Longer messages (a driver's error text can be anything) are cut, with a marker. */
export const MAX_EVENT_MESSAGE_LENGTH = 4096;

export interface KubeEventRecorderOptions {
  sink: EventSink;
  /** source.component (also reportingComponent) and source.host (also reportingInstance). */
  source: EventSource;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
  maxQueued?: number;
  retryDelayMs?: number;
  maxTries?: number;
  maxMessageLength?: number;
  /** Overrides of the correlator's limits (tests). */
  spamBurst?: number;
  spamQps?: number;
}

interface Pending {
  input: CoreV1EventBody;
  result?: Extract<CorrelationResult, { skip: false }>;
  tries: number;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function eventTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class KubeEventRecorder implements EventRecorder, Disposable {
  readonly #sink: EventSink;
  readonly #source: EventSource;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #random: () => number;
  readonly #maxQueued: number;
  readonly #retryDelayMs: number;
  readonly #maxTries: number;
  readonly #maxMessage: number;
  readonly #correlator: EventCorrelator;
  readonly #queue: Pending[] = [];
  readonly #timers = new Set<TimerHandle>();
  #seq = 0;
  #writing: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  #disposed = false;
  #dropped = 0;
  #dropsNotLogged = 0;
  #dropLoggedAt: number | undefined;

  constructor(opts: KubeEventRecorderOptions) {
    this.#sink = opts.sink;
    this.#source = opts.source;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.logger ?? discardLogger).withName('events');
    this.#random = opts.random ?? Math.random;
    this.#maxQueued = opts.maxQueued ?? MAX_QUEUED_EVENTS;
    this.#retryDelayMs = opts.retryDelayMs ?? EVENT_RETRY_DELAY_MS;
    this.#maxTries = opts.maxTries ?? MAX_TRIES_PER_EVENT;
    this.#maxMessage = opts.maxMessageLength ?? MAX_EVENT_MESSAGE_LENGTH;
    this.#correlator = new EventCorrelator({
      clock: this.#clock,
      spamBurst: opts.spamBurst,
      spamQps: opts.spamQps,
      eventName: (objectName) => this.#eventName(objectName),
    });
  }

  /** Events dropped because the queue was full or the recorder was disposed. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Events waiting to be written (retries waiting for their delay not included). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Failed writes waiting for their retry delay. */
  get pendingRetries(): number {
    return this.#timers.size;
  }

  event(subject: ObjectReference, type: EventType, reason: string, message: string): void {
    try {
      this.#record(subject, type, reason, message);
    } catch (err) {
      // A recorder bug must never reach the controller that reported the event.
      this.#log.error('Could not record event', err, { reason });
    }
  }

  /** Resolves once nothing is queued or being written (retries waiting for their delay excepted). */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && !this.#writing) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops writing: queued events and pending retries are dropped; an in-flight write finishes. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const t of this.#timers) this.#clock.clearTimeout(t);
    const left = this.#queue.length + this.#timers.size;
    this.#timers.clear();
    this.#queue.length = 0;
    if (left > 0) {
      this.#dropped += left;
      this.#log.v(2).info('Dropping unwritten events at shutdown', { count: left });
    }
    await this.#writing;
    this.#notifyIdle();
  }

  #record(subject: ObjectReference, type: EventType, reason: string, rawMessage: string): void {
    if (type !== 'Normal' && type !== 'Warning') {
      this.#log.error('Unsupported event type, event not recorded', undefined, { eventType: type, reason });
      return;
    }
    const message = rawMessage.length > this.#maxMessage ? `${rawMessage.slice(0, this.#maxMessage - 3)}...` : rawMessage;
    this.#log.info('Event occurred', {
      object: subject.namespace ? `${subject.namespace}/${subject.name}` : subject.name,
      kind: subject.kind,
      apiVersion: subject.apiVersion,
      type,
      reason,
      message,
    });
    if (this.#disposed) {
      this.#dropped++;
      return;
    }
    if (this.#queue.length >= this.#maxQueued) {
      this.#noteDropped(reason, subject.name);
      return;
    }
    const ts = eventTimestamp(this.#clock.now());
    const involvedObject: ObjectReference = { ...subject };
    const input: CoreV1EventBody = {
      metadata: { name: this.#eventName(subject.name), namespace: subject.namespace || 'default' },
      involvedObject,
      reason,
      message,
      source: { ...this.#source },
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
      type,
      reportingComponent: this.#source.component,
      reportingInstance: this.#source.host ?? '',
    };
    this.#queue.push({ input, tries: 0 });
    this.#pump();
  }

  // A line per dropped event would add a log write to every event of a flood, on the process that
  // is already too busy to write them: the first drop and then one line per interval, with counts.
  #noteDropped(reason: string, object: string): void {
    this.#dropped++;
    this.#dropsNotLogged++;
    this.#log.v(5).info('Dropped event: too many queued', { reason, object });
    const now = this.#clock.now();
    if (this.#dropLoggedAt !== undefined && now - this.#dropLoggedAt < DROPPED_EVENTS_LOG_INTERVAL_MS) return;
    this.#log.error('Unable to record event: too many queued events, dropped event', undefined, {
      reason,
      object,
      droppedSinceLastReport: this.#dropsNotLogged,
      droppedTotal: this.#dropped,
    });
    this.#dropLoggedAt = now;
    this.#dropsNotLogged = 0;
  }

  /** `<object>.<hex nanoseconds>` like client-go; a sequence keeps names unique within one ms. */
  #eventName(objectName: string): string {
    const nanos = BigInt(Math.floor(this.#clock.now())) * 1_000_000n + BigInt(this.#seq++ % 1_000_000);
    const name = `${objectName}.${nanos.toString(16)}`;
    return name.length <= 253 && DNS_SUBDOMAIN.test(name) ? name : randomUUID();
  }

  #pump(): void {
    if (this.#writing || this.#disposed) return;
    const next = this.#queue.shift();
    if (!next) {
      this.#notifyIdle();
      return;
    }
    this.#writing = this.#process(next)
      .catch((err: unknown) => this.#log.error('Event writer failed', err))
      .finally(() => {
        this.#writing = undefined;
        this.#pump();
      });
  }

  #notifyIdle(): void {
    if (this.#queue.length > 0 || this.#writing) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  async #process(p: Pending): Promise<void> {
    if (!p.result) {
      const result = this.#correlator.correlate(p.input);
      if (result.skip) {
        this.#log.v(4).info('Event filtered as spam', { reason: p.input.reason, object: p.input.involvedObject.name });
        return;
      }
      p.result = result;
    }
    const { event, patch, key } = p.result;
    try {
      const stored = await this.#write(event, patch);
      this.#correlator.recordWritten(key, stored);
      return;
    } catch (err) {
      if (toKubeApiError(err)) {
        // The apiserver answered: trying again would get the same answer.
        if (isAlreadyExists(err) || /namespace.*terminat/i.test((err as Error).message)) {
          this.#log.v(5).info('Server rejected event (will not retry!)', { reason: event.reason, err: (err as Error).message });
        } else {
          this.#log.error('Server rejected event (will not retry!)', err, { reason: event.reason, object: event.involvedObject.name });
        }
        return;
      }
      p.tries++;
      if (p.tries >= this.#maxTries) {
        this.#log.error('Unable to write event (retry limit exceeded!)', err, { reason: event.reason, object: event.involvedObject.name });
        return;
      }
      this.#log.error('Unable to write event (may retry after sleeping)', err, { reason: event.reason });
      const delay = p.tries === 1 ? this.#retryDelayMs * this.#random() : this.#retryDelayMs;
      const timer = this.#clock.setTimeout(() => {
        this.#timers.delete(timer);
        if (this.#disposed) return;
        this.#queue.push(p);
        this.#pump();
      }, delay);
      this.#timers.add(timer);
    }
  }

  async #write(event: CoreV1EventBody, patch: Record<string, unknown> | undefined): Promise<CoreV1EventBody> {
    if (patch) {
      try {
        return await this.#sink.patch(event, patch);
      } catch (err) {
        // The Event expired (or was deleted): write it anew with the accumulated count.
        if (!isNotFound(err)) throw err;
      }
    }
    const { resourceVersion: _rv, ...metadata } = event.metadata;
    return this.#sink.create({ ...event, metadata });
  }
}

/** An EventRecorder that keeps events in memory: for tests of controllers. */
export class MemoryEventRecorder implements EventRecorder {
  readonly events: { subject: ObjectReference; type: EventType; reason: string; message: string }[] = [];

  event(subject: ObjectReference, type: EventType, reason: string, message: string): void {
    this.events.push({ subject, type, reason, message });
  }

  /** Events about an object (by name, and namespace when given). */
  for(name: string, namespace?: string): { type: EventType; reason: string; message: string }[] {
    return this.events.filter((e) => e.subject.name === name && (namespace === undefined || e.subject.namespace === namespace));
  }

  reasons(name?: string): string[] {
    return this.events.filter((e) => name === undefined || e.subject.name === name).map((e) => e.reason);
  }
}

/** A recorder that drops everything. */
export const discardEventRecorder: EventRecorder = { event: () => undefined };
