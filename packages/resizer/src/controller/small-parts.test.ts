import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '@csi-sidecars-ts/shared';
import { claimsUsedBy, PodClaimIndex } from './pod-claim-index.js';
import { SlowSet } from './slow-set.js';
import { WriteTracker } from './write-tracker.js';

describe('SlowSet', () => {
  it('keeps the first time of a key, expires after the retention and reports the time left', async () => {
    const clock = new FakeClock();
    const s = new SlowSet(300_000, clock);
    s.add('a');
    await clock.advance(100_000);
    s.add('a');
    expect(s.contains('a')).toBe(true);
    expect(s.timeRemainingMs('a')).toBe(200_000);
    await clock.advance(200_000);
    expect(s.contains('a')).toBe(false);
    expect(s.timeRemainingMs('a')).toBe(0);
    expect(s.size).toBe(0);
    s.add('b');
    s.remove('b');
    expect(s.contains('b')).toBe(false);
  });
});

describe('PodClaimIndex (lean pod cache)', () => {
  const pod = (name: string, claims: string[], phase = 'Running', ns = 'ns') => ({
    metadata: { name, namespace: ns, uid: `u-${name}`, resourceVersion: '1' },
    spec: { volumes: [{ name: 'cfg', configMap: { name: 'x' } }, ...claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } }))] },
    status: { phase },
  });

  it('extracts the claims of pods that are not terminated', () => {
    expect(claimsUsedBy(pod('p', ['a', 'b', 'a']))).toEqual(['ns/a', 'ns/b']);
    expect(claimsUsedBy(pod('p', ['a'], 'Succeeded'))).toEqual([]);
    expect(claimsUsedBy(pod('p', ['a'], 'Failed'))).toEqual([]);
  });

  it('holds only pods with claims, follows updates and deletes', async () => {
    const index = new PodClaimIndex();
    const synced = index.waitForSync();
    index.replace([pod('web', ['data']), pod('plain', []), pod('job', ['data'], 'Succeeded'), pod('other', ['data'], 'Running', 'ns2')]);
    await synced;
    expect(index.hasSynced()).toBe(true);
    expect(index.size).toBe(2);
    expect(index.isClaimInUse('ns', 'data')).toBe(true);
    expect(index.podsUsing('ns', 'data')).toEqual(['ns/web']);
    expect(index.isClaimInUse('ns2', 'data')).toBe(true);

    index.upsert(pod('web', ['data'], 'Succeeded'));
    expect(index.isClaimInUse('ns', 'data')).toBe(false);
    index.upsert(pod('web2', ['data']));
    index.delete(pod('web2', ['data']));
    expect(index.isClaimInUse('ns', 'data')).toBe(false);
    index.delete(pod('other', ['data'], 'Running', 'ns2'));
    expect(index.size).toBe(0);
  });

  it('a relist replaces the whole content', () => {
    const index = new PodClaimIndex();
    index.replace([pod('a', ['x'])]);
    index.replace([pod('b', ['y'])]);
    expect(index.isClaimInUse('ns', 'x')).toBe(false);
    expect(index.isClaimInUse('ns', 'y')).toBe(true);
  });

  it('waitForSync rejects when aborted', async () => {
    const index = new PodClaimIndex();
    const ac = new AbortController();
    const waiting = index.waitForSync(ac.signal);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});

describe('WriteTracker', () => {
  const obj = (rv: string, uid = 'u') => ({ metadata: { name: 'a', namespace: 'n', uid, resourceVersion: rv } });

  it('prefers our newer write until the cache catches up', () => {
    const t = new WriteTracker();
    t.remember('n/a', obj('10'));
    expect(t.freshest('n/a', obj('9'))!.metadata!.resourceVersion).toBe('10');
    expect(t.isEcho('n/a', obj('10'))).toBe(true);
    expect(t.isEcho('n/a', obj('11'))).toBe(false);
    expect(t.freshest('n/a', obj('10'))!.metadata!.resourceVersion).toBe('10');
    expect(t.size).toBe(0);
  });

  it('recognises the echo once and then forgets the write', () => {
    const t = new WriteTracker();
    t.remember('n/a', obj('10'));
    expect(t.absorb('n/a', obj('9'), obj('10'))).toBe(true);
    expect(t.size).toBe(0);
    expect(t.absorb('n/a', obj('10'), obj('11'))).toBe(false);
  });

  it('drops the write when the object is gone or was recreated', () => {
    const t = new WriteTracker();
    t.remember('n/a', obj('10'));
    expect(t.freshest('n/a', undefined)).toBeUndefined();
    t.remember('n/a', obj('10'));
    expect(t.freshest('n/a', obj('5', 'other'))!.metadata!.uid).toBe('other');
  });

  it('holds updates seen during a write and passes on only those that are not its echo', async () => {
    const seen: string[] = [];
    const t = new WriteTracker<ReturnType<typeof obj>>((_o, n) => seen.push(n.metadata.resourceVersion));
    let finish!: (v: ReturnType<typeof obj>) => void;
    const writing = t.track('n/a', () => new Promise((r) => (finish = r)));
    expect(t.absorb('n/a', obj('9'), obj('10'))).toBe(true); // someone else's change
    expect(t.absorb('n/a', obj('10'), obj('11'))).toBe(true); // our echo, arriving early
    finish(obj('11'));
    await writing;
    expect(seen).toEqual(['10']);
    expect(t.size).toBe(0); // the early echo already brought the cache up to date
    expect(t.absorb('n/a', obj('11'), obj('12'))).toBe(false);
    const same = obj('12');
    expect(t.absorb('n/a', same, same)).toBe(false); // resyncs always count
  });
});
