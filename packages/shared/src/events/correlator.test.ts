import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../lifecycle/clock.js';
import { COMBINED_MESSAGE_PREFIX, EventCorrelator } from './correlator.js';
import type { CoreV1EventBody } from './types.js';

function makeEvent(clock: FakeClock, message: string, opts: { reason?: string; name?: string; type?: 'Normal' | 'Warning' } = {}): CoreV1EventBody {
  const ts = new Date(clock.now()).toISOString();
  return {
    metadata: { name: `${opts.name ?? 'claim'}.${clock.now().toString(16)}`, namespace: 'ns' },
    involvedObject: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: 'ns', name: opts.name ?? 'claim', uid: 'u1' },
    reason: opts.reason ?? 'ProvisioningFailed',
    message,
    source: { component: 'comp' },
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
    type: opts.type ?? 'Warning',
    reportingComponent: 'comp',
    reportingInstance: '',
  };
}

function setup(opts: { spamBurst?: number } = {}) {
  const clock = new FakeClock();
  let n = 0;
  const c = new EventCorrelator({ clock, spamBurst: opts.spamBurst ?? 1000, eventName: (o) => `${o}.agg${++n}` });
  return { clock, c };
}

describe('EventCorrelator', () => {
  it('creates the first event and patches count, lastTimestamp and message of an identical one', async () => {
    const { clock, c } = setup();
    const first = c.correlate(makeEvent(clock, 'boom'));
    if (first.skip) throw new Error('unexpected skip');
    expect(first.patch).toBeUndefined();
    c.recordWritten(first.key, { ...first.event, metadata: { ...first.event.metadata, resourceVersion: '7' } });
    await clock.advance(60_000);
    const second = c.correlate(makeEvent(clock, 'boom'));
    if (second.skip) throw new Error('unexpected skip');
    expect(second.event.metadata.name).toBe(first.event.metadata.name);
    expect(second.event.count).toBe(2);
    expect(second.event.firstTimestamp).toBe(first.event.firstTimestamp);
    expect(second.patch).toEqual({ count: 2, lastTimestamp: second.event.lastTimestamp, message: 'boom' });
    expect(second.event.lastTimestamp).not.toBe(first.event.lastTimestamp);
  });

  it('keeps events with a different message or reason apart', () => {
    const { clock, c } = setup();
    const a = c.correlate(makeEvent(clock, 'one'));
    const b = c.correlate(makeEvent(clock, 'two'));
    const d = c.correlate(makeEvent(clock, 'one', { reason: 'Other' }));
    for (const r of [a, b, d]) {
      if (r.skip) throw new Error('unexpected skip');
      expect(r.patch).toBeUndefined();
    }
  });

  it('combines the 10th and later different messages of the same reason into one event', () => {
    const { clock, c } = setup();
    const results = Array.from({ length: 12 }, (_, i) => c.correlate(makeEvent(clock, `msg ${i}`)));
    for (const r of results.slice(0, 9)) {
      if (r.skip) throw new Error('unexpected skip');
      expect(r.event.message).not.toContain(COMBINED_MESSAGE_PREFIX);
    }
    const tenth = results[9]!;
    const eleventh = results[10]!;
    if (tenth.skip || eleventh.skip) throw new Error('unexpected skip');
    expect(tenth.event.message).toBe(`${COMBINED_MESSAGE_PREFIX}msg 9`);
    expect(tenth.patch).toBeUndefined();
    // Later similar events update the combined one.
    expect(eleventh.event.message).toBe(`${COMBINED_MESSAGE_PREFIX}msg 10`);
    expect(eleventh.event.metadata.name).toBe(tenth.event.metadata.name);
    expect(eleventh.event.count).toBe(2);
  });

  it('starts aggregation afresh after 10 quiet minutes', async () => {
    const { clock, c } = setup();
    for (let i = 0; i < 9; i++) c.correlate(makeEvent(clock, `msg ${i}`));
    await clock.advance(600_001);
    const r = c.correlate(makeEvent(clock, 'msg new'));
    if (r.skip) throw new Error('unexpected skip');
    expect(r.event.message).toBe('msg new');
  });

  it('drops events of one object beyond the burst, and lets one more through every 5 minutes', async () => {
    const { clock, c } = setup({ spamBurst: 3 });
    const outcomes = Array.from({ length: 5 }, (_, i) => c.correlate(makeEvent(clock, `m${i}`, { reason: `R${i}` })).skip);
    expect(outcomes).toEqual([false, false, false, true, true]);
    // Another object has its own bucket.
    expect(c.correlate(makeEvent(clock, 'x', { name: 'other' })).skip).toBe(false);
    await clock.advance(300_000);
    expect(c.correlate(makeEvent(clock, 'later', { reason: 'R9' })).skip).toBe(false);
    expect(c.correlate(makeEvent(clock, 'later2', { reason: 'R10' })).skip).toBe(true);
  });
});
