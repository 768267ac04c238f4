import { getEventListeners } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import { FakeClock, KubeApiError, discardLogger } from '@csi-sidecars-ts/shared';
import type { CreateVolumeRequest, Lease, PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import type { JournalApi } from '../adapters/journal-api.js';
import { PROVISIONING_PROTECTION_FINALIZER } from './constants.js';
import { entryFromLease, entryKeys, entrySize, entryText, journalEntryKey } from './journal-entry.js';
import { JournalWriteError, ProvisioningJournal } from './provisioning-journal.js';

/** A write the test holds in flight until it says how it ends. */
interface Gate {
  release(): void;
  fail(err: Error): void;
}

/** Shard Leases in a Map (resourceVersion-checked updates), a call log, held writes and failures. */
function world() {
  const leases = new Map<string, Lease>();
  const calls: { verb: 'create' | 'update' | 'get'; name: string; set: string[]; removed: string[] }[] = [];
  const failures: Error[] = [];
  let holding = false;
  const gates: Gate[] = [];
  let rv = 0;
  const gate = async () => {
    const err = failures.shift();
    if (err) throw err;
    if (!holding) return;
    await new Promise<void>((resolve, reject) => gates.push({ release: resolve, fail: reject }));
  };
  const api: JournalApi = {
    createLease: async (l) => {
      calls.push({ verb: 'create', name: l.metadata!.name!, set: Object.keys(l.metadata?.annotations ?? {}), removed: [] });
      await gate();
      if (leases.has(l.metadata!.name!)) throw new KubeApiError(409, 'AlreadyExists', 'exists');
      const stored = structuredClone({ ...l, metadata: { ...l.metadata, resourceVersion: String(++rv) } });
      leases.set(l.metadata!.name!, stored);
      return structuredClone(stored);
    },
    getLease: async (_ns, name) => {
      calls.push({ verb: 'get', name, set: [], removed: [] });
      const l = leases.get(name);
      if (!l) throw new KubeApiError(404, 'NotFound', 'not found');
      return structuredClone(l);
    },
    updateLease: async (l) => {
      const name = l.metadata!.name!;
      const current = leases.get(name);
      const before = current?.metadata?.annotations ?? {};
      const after = l.metadata?.annotations ?? {};
      calls.push({
        verb: 'update',
        name,
        set: Object.keys(after).filter((k) => before[k] !== after[k]),
        removed: Object.keys(before).filter((k) => !(k in after)),
      });
      await gate();
      if (!current) throw new KubeApiError(404, 'NotFound', 'not found');
      if (current.metadata?.resourceVersion !== l.metadata?.resourceVersion) throw new KubeApiError(409, 'Conflict', 'the object has been modified');
      const stored = structuredClone({ ...l, metadata: { ...l.metadata, resourceVersion: String(++rv) } });
      leases.set(name, stored);
      return structuredClone(stored);
    },
    probeList: async () => undefined,
  };
  let claim: PersistentVolumeClaim = { metadata: { name: 'data', namespace: 'ns', uid: 'u1', resourceVersion: '1' } };
  const claims = {
    getClaim: async () => structuredClone(claim),
    updateClaim: async (c: PersistentVolumeClaim) => {
      claim = structuredClone(c);
      return c;
    },
  };
  const clock = new FakeClock();
  const journal = (opts: { protectionFinalizer?: boolean; shardBudgetBytes?: number; batchWindowMs?: number; leases?: () => Lease[] } = {}) =>
    new ProvisioningJournal(
      { namespace: 'csi', driverName: 'drv', holder: 'pod/x', protectionFinalizer: opts.protectionFinalizer ?? false, removalDelayMs: 5_000, shardBudgetBytes: opts.shardBudgetBytes, batchWindowMs: opts.batchWindowMs ?? 0 },
      { api, claims, leases: opts.leases ?? (() => [...leases.values()]), clock, logger: discardLogger },
    );
  /** Entry keys stored, over all shards. */
  const stored = () => [...leases.values()].flatMap((l) => entryKeys(l)).sort();
  return {
    leases,
    /** Writes only (creates and updates). */
    get calls() {
      return calls.filter((c) => c.verb !== 'get');
    },
    allCalls: calls,
    clock,
    journal,
    stored,
    claim: () => claim,
    failNext: (err: Error) => failures.push(err),
    hold: () => (holding = true),
    gates,
    /** Lets the journal reach its next write (it waits one event-loop turn to gather records). */
    settleDown: async () => {
      for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
    },
  };
}

const request = (name: string, over: Partial<CreateVolumeRequest> = {}): CreateVolumeRequest => ({
  name,
  capacity_range: { required_bytes: 1n },
  volume_capabilities: [],
  secrets: { key: 'secret-data' },
  ...over,
});

const claimN = (n: number): PersistentVolumeClaim => ({ metadata: { name: `data-${n}`, namespace: 'ns', uid: `u${n}` } });
const keyN = (n: number) => journalEntryKey(`u${n}`, `pvc-u${n}`);
/** The PV of claim n, created at `createdMs`, whose volume was just deleted. */
const deletedPv = (n: number, createdMs: number): PersistentVolume => ({
  metadata: { name: `pvc-u${n}`, creationTimestamp: new Date(createdMs).toISOString() },
  spec: { claimRef: { namespace: 'ns', name: `data-${n}`, uid: `u${n}` } },
  status: { phase: 'Released' },
});

describe('ProvisioningJournal (group commit)', () => {
  it('coalesces concurrent records into one Lease write, and none is durable before that write succeeded', async () => {
    const w = world();
    const j = w.journal();
    w.hold();
    const resolved: number[] = [];
    const records = [1, 2, 3, 4, 5].map((n) => j.record(j.entryFor(claimN(n), request(`pvc-u${n}`), 'fast', { name: 's', namespace: 'ns' })).then(() => resolved.push(n)));
    await w.settleDown();
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.verb).toBe('create');
    expect(w.calls[0]!.set.sort()).toEqual([1, 2, 3, 4, 5].map(keyN).sort());
    // The write is in flight: no caller may go on to CreateVolume yet.
    expect(resolved).toEqual([]);
    w.gates.shift()!.release();
    await Promise.all(records);
    expect(resolved.sort()).toEqual([1, 2, 3, 4, 5]);
    expect(w.stored()).toEqual([1, 2, 3, 4, 5].map(keyN).sort());
    const lease = [...w.leases.values()][0]!;
    expect(lease.metadata?.name).toBe('csi-journal-0.drv');
    expect(JSON.stringify(lease)).not.toContain('secret-data');
    expect(entryFromLease(lease, keyN(3))).toMatchObject({ pvName: 'pvc-u3', claim: { uid: 'u3', name: 'data-3' }, secretRef: { name: 's' } });
    // Recording the same entry again (a retry) writes nothing.
    await j.record(j.entryFor(claimN(3), request('pvc-u3'), 'fast', { name: 's', namespace: 'ns' }));
    expect(w.calls).toHaveLength(1);
    expect(j.writes).toBe(1);
  });

  it('leaves no abort listener on the callers\' signals once their writes are done, failed or aborted', async () => {
    const w = world();
    const j = w.journal();
    // One long-lived signal shared by many records (a worker's): it must not collect listeners.
    const shared = new AbortController().signal;
    await Promise.all([1, 2, 3].map((n) => j.record(j.entryFor(claimN(n), request(`pvc-u${n}`), 'fast', undefined), shared)));
    expect(getEventListeners(shared, 'abort')).toHaveLength(0);
    w.failNext(new KubeApiError(500, 'InternalError', 'etcd timeout'));
    await expect(j.record(j.entryFor(claimN(4), request('pvc-u4'), 'fast', undefined), shared)).rejects.toThrow(JournalWriteError);
    expect(getEventListeners(shared, 'abort')).toHaveLength(0);
    // An aborted wait rejects at once; the write itself still goes ahead for the others.
    w.hold();
    const stop = new AbortController();
    const aborted = j.record(j.entryFor(claimN(5), request('pvc-u5'), 'fast', undefined), stop.signal);
    const other = j.record(j.entryFor(claimN(6), request('pvc-u6'), 'fast', undefined), shared);
    await w.settleDown();
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
    stop.abort(new Error('stopped'));
    await expect(aborted).rejects.toThrow('stopped');
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    w.gates.shift()!.release();
    await other;
    expect(getEventListeners(shared, 'abort')).toHaveLength(0);
    // settleVolumeDeleted on a worker's signal: none left either.
    j.settle({ pvName: 'pvc-u1', claim: { namespace: 'ns', name: 'data-1', uid: 'u1' } }, 'saved');
    w.gates.length = 0;
    const deleted = j.settleVolumeDeleted(deletedPv(1, w.clock.now()), shared);
    await w.settleDown();
    w.gates.shift()?.release();
    await deleted;
    expect(getEventListeners(shared, 'abort')).toHaveLength(0);
  });

  it('lets the first write after a quiet spell wait the batch window for the rest of a burst', async () => {
    const w = world();
    const j = w.journal({ batchWindowMs: 20 });
    const first = j.record(j.entryFor(claimN(1), request('pvc-u1'), 'fast', undefined));
    await w.settleDown();
    // Arrives 10 ms later (claims of one burst come in over some milliseconds): same write.
    await w.clock.advance(10);
    const second = j.record(j.entryFor(claimN(2), request('pvc-u2'), 'fast', undefined));
    await w.settleDown();
    expect(w.calls).toHaveLength(0);
    await w.clock.advance(10);
    await Promise.all([first, second]);
    expect(w.calls).toHaveLength(1);
    expect(w.calls[0]!.set.sort()).toEqual([1, 2].map(keyN).sort());
  });

  it('queues records made while a write is in flight for the next write, which carries all of them', async () => {
    const w = world();
    const j = w.journal();
    w.hold();
    const first = j.record(j.entryFor(claimN(1), request('pvc-u1'), 'fast', undefined));
    await w.settleDown();
    const later = [2, 3, 4].map((n) => j.record(j.entryFor(claimN(n), request(`pvc-u${n}`), 'fast', undefined)));
    await w.settleDown();
    expect(w.calls).toHaveLength(1);
    w.gates.shift()!.release();
    await first;
    await w.settleDown();
    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]).toMatchObject({ verb: 'update', name: 'csi-journal-0.drv' });
    expect(w.calls[1]!.set.sort()).toEqual([2, 3, 4].map(keyN).sort());
    w.gates.shift()!.release();
    await Promise.all(later);
    expect(w.stored()).toEqual([1, 2, 3, 4].map(keyN).sort());
  });

  it('fails only the records a failed write carried; they succeed when retried', async () => {
    const w = world();
    const j = w.journal();
    w.hold();
    const a = j.record(j.entryFor(claimN(1), request('pvc-u1'), 'fast', undefined));
    await w.settleDown();
    const others = [2, 3].map((n) => j.record(j.entryFor(claimN(n), request(`pvc-u${n}`), 'fast', undefined)));
    await w.settleDown();
    w.gates.shift()!.fail(new KubeApiError(500, 'InternalError', 'etcd timeout'));
    await expect(a).rejects.toThrow(JournalWriteError);
    await expect(a).rejects.toThrow('cannot record the provisioning of pvc-u1 in the journal (Lease csi/csi-journal-0.drv): etcd timeout');
    await w.settleDown();
    // The shard was never created: the next write creates it, with the two queued entries only.
    expect(w.calls[1]).toMatchObject({ verb: 'create' });
    expect(w.calls[1]!.set.sort()).toEqual([2, 3].map(keyN).sort());
    w.gates.shift()!.release();
    await Promise.all(others);
    expect(w.stored()).toEqual([2, 3].map(keyN).sort());
    // The caller retries (the claim controller's backoff): recorded now.
    const retry = j.record(j.entryFor(claimN(1), request('pvc-u1'), 'fast', undefined));
    await w.settleDown();
    w.gates.shift()!.release();
    await retry;
    expect(w.stored()).toEqual([1, 2, 3].map(keyN).sort());
  });

  it('writes removals lazily: with the next write, or on their own after the delay', async () => {
    const w = world();
    const j = w.journal();
    const e1 = j.entryFor(claimN(1), request('pvc-u1'), 'fast', undefined);
    const e2 = j.entryFor(claimN(2), request('pvc-u2'), 'fast', undefined);
    await Promise.all([j.record(e1), j.record(e2)]);
    expect(w.calls).toHaveLength(1);
    await j.settle(e1, 'PV saved');
    await w.settleDown();
    expect(w.calls).toHaveLength(1);
    expect(j.isSettled(e1)).toBe(true);
    expect(j.isSettled(e2)).toBe(false);
    // A new entry: its write carries the removal.
    await j.record(j.entryFor(claimN(3), request('pvc-u3'), 'fast', undefined));
    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]).toMatchObject({ verb: 'update', removed: [keyN(1)], set: [keyN(3)] });
    expect(w.stored()).toEqual([2, 3].map(keyN).sort());
    // Nothing else to write: the removals go on their own, once, after the delay.
    await j.settle(e2, 'PV saved');
    await j.settle(j.entryFor(claimN(3), request('pvc-u3'), 'fast', undefined), 'PV saved');
    await w.clock.advance(4_999);
    await w.settleDown();
    expect(w.calls).toHaveLength(2);
    await w.clock.advance(1);
    await w.settleDown();
    expect(w.calls).toHaveLength(3);
    expect(w.calls[2]!.removed.sort()).toEqual([2, 3].map(keyN).sort());
    expect(w.stored()).toEqual([]);
    expect(j.isSettled(e2)).toBe(true);
    // Recorded again after settling: written again (the cached copy is no record).
    await j.record(e1);
    expect(w.calls).toHaveLength(4);
    expect(j.isSettled(e1)).toBe(false);
    expect(w.stored()).toEqual([keyN(1)]);
  });

  it('keeps a settled entry whose removal is not written yet when it is recorded again, without a write', async () => {
    const w = world();
    const j = w.journal();
    const e = j.entryFor(claimN(1), request('pvc-u1'), 'fast', undefined);
    await j.record(e);
    // A final CreateVolume error settles it; the claim's retry records it again at once.
    await j.settle(e, 'CreateVolume failed');
    await j.record(e);
    expect(j.isSettled(e)).toBe(false);
    await w.clock.advance(10_000);
    await w.settleDown();
    expect(w.calls).toHaveLength(1);
    expect(w.stored()).toEqual([keyN(1)]);
  });

  it('settles entries an earlier process left in its shards, and flush() writes pending removals at once', async () => {
    const w = world();
    const old = w.journal();
    await Promise.all([1, 2].map((n) => old.record(old.entryFor(claimN(n), request(`pvc-u${n}`), 'fast', undefined))));
    // A new process knows the shard only from the informer cache.
    const j = w.journal();
    await j.settle({ pvName: 'pvc-u1', claim: { namespace: 'ns', name: 'data-1', uid: 'u1' } }, 'pv-owns-volume');
    await j.flush();
    expect(w.calls.at(-1)).toMatchObject({ verb: 'update', name: 'csi-journal-0.drv', removed: [keyN(1)], set: [] });
    expect(w.stored()).toEqual([keyN(2)]);
  });

  it('settleVolumeDeleted writes a pending removal at once, and nothing for an entry in use or no entry', async () => {
    const w = world();
    const j = w.journal();
    const [e1, e2] = [1, 2].map((n) => j.entryFor(claimN(n), request(`pvc-u${n}`), 'fast', undefined));
    await Promise.all([j.record(e1!), j.record(e2!)]);
    await j.settle(e1!, 'PV saved');
    await w.settleDown();
    expect(w.calls).toHaveLength(1);
    // Resolves only once the removal is written: no timer involved.
    expect(await j.settleVolumeDeleted(deletedPv(1, w.clock.now() + 1_000))).toBe(true);
    expect(w.calls).toHaveLength(2);
    expect(w.calls[1]).toMatchObject({ verb: 'update', removed: [keyN(1)], set: [] });
    // e2's provisioning is still in flight (recorded, not settled): its entry is its own.
    expect(await j.settleVolumeDeleted(deletedPv(2, w.clock.now() + 1_000))).toBe(false);
    // No entry at all (the usual case), or its removal written already: no write.
    expect(await j.settleVolumeDeleted(deletedPv(9, w.clock.now()))).toBe(false);
    expect(await j.settleVolumeDeleted(deletedPv(1, w.clock.now() + 1_000))).toBe(false);
    await w.clock.advance(10_000);
    await w.settleDown();
    expect(w.calls).toHaveLength(2);
    expect(w.stored()).toEqual([keyN(2)]);
  });

  it("settleVolumeDeleted removes an earlier process's entry older than the PV, and leaves a later one (a stray's) to the replay", async () => {
    const w = world();
    const old = w.journal();
    const t0 = w.clock.now();
    await Promise.all([1, 2].map((n) => old.record(old.entryFor(claimN(n), request(`pvc-u${n}`), 'fast', undefined))));
    const j = w.journal();
    // PV 1 was created after its entry was recorded: the entry protected that PV's volume.
    expect(await j.settleVolumeDeleted(deletedPv(1, t0 + 3_000))).toBe(true);
    // PV 2 predates its entry by far: a second CreateVolume ran while it existed.
    expect(await j.settleVolumeDeleted(deletedPv(2, t0 - 60_000))).toBe(false);
    expect(w.stored()).toEqual([keyN(2)]);
    expect(w.calls).toHaveLength(2);
  });

  it('settleVolumeDeleted fails when the write does (the caller retries), and succeeds when retried', async () => {
    const w = world();
    const old = w.journal();
    await old.record(old.entryFor(claimN(1), request('pvc-u1'), 'fast', undefined));
    const j = w.journal();
    w.failNext(new KubeApiError(500, 'InternalError', 'etcd is having a moment'));
    await expect(j.settleVolumeDeleted(deletedPv(1, w.clock.now() + 1_000))).rejects.toThrow(JournalWriteError);
    expect(w.stored()).toEqual([keyN(1)]);
    expect(await j.settleVolumeDeleted(deletedPv(1, w.clock.now() + 1_000))).toBe(true);
    expect(w.stored()).toEqual([]);
  });

  it("keeps every writer's entries when two processes write one shard (a conflict re-reads and applies again)", async () => {
    const w = world();
    const a = w.journal();
    // b does not see the shard in its cache yet (a new leader starting).
    const b = w.journal({ leases: () => [] });
    const entry = (j: ProvisioningJournal, n: number) => j.entryFor(claimN(n), request(`pvc-u${n}`), 'fast', undefined);
    await a.record(entry(a, 1));
    await b.record(entry(b, 2));
    await a.record(entry(a, 3));
    expect(w.stored()).toEqual([1, 2, 3].map(keyN).sort());
    expect(w.allCalls.filter((c) => c.verb === 'get')).toHaveLength(2);
    await b.settle(entry(b, 2), 'PV saved');
    await b.flush();
    expect(w.stored()).toEqual([1, 3].map(keyN).sort());
  });

  it('moves to the next shard when one is full, and when the apiserver says it is', async () => {
    const w = world();
    const big = { parameters: { blob: 'x'.repeat(600) } };
    // Room for two entries per shard.
    const probe = w.journal();
    const size = entrySize(keyN(1), entryText(probe.entryFor(claimN(1), request('pvc-u1', big), 'fast', undefined)));
    const j = w.journal({ shardBudgetBytes: 2 * size + 10 });
    await Promise.all([1, 2, 3].map((n) => j.record(j.entryFor(claimN(n), request(`pvc-u${n}`, big), 'fast', undefined))));
    expect([...w.leases.keys()].sort()).toEqual(['csi-journal-0.drv', 'csi-journal-1.drv']);
    expect(w.stored()).toEqual([1, 2, 3].map(keyN).sort());

    // Another writer filled shard 1 behind this process's back: the write is refused, the
    // entries go to the next shard, and their callers never see the refusal.
    w.failNext(new KubeApiError(422, 'Invalid', 'Lease.coordination.k8s.io "csi-journal-1.drv" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes'));
    await j.record(j.entryFor(claimN(4), request('pvc-u4', big), 'fast', undefined));
    expect(w.leases.has('csi-journal-2.drv')).toBe(true);
    expect(w.stored()).toEqual([1, 2, 3, 4].map(keyN).sort());
  });

  it('turns off on 403: the waiting records go ahead as in Go, and nothing more is written', async () => {
    const w = world();
    const j = w.journal();
    const e = j.entryFor(claimN(1), request('pvc-u1'), 'fast', undefined);
    w.failNext(new KubeApiError(403, 'Forbidden', 'leases is forbidden'));
    await j.record(e);
    expect(j.enabled).toBe(false);
    await j.settle(e, 'x');
    await j.record(j.entryFor(claimN(2), request('pvc-u2'), 'fast', undefined));
    await w.clock.advance(60_000);
    expect(w.calls).toHaveLength(1);
  });

  it('holds the claim with the protection finalizer from record to settle', async () => {
    const w = world();
    const j = w.journal({ protectionFinalizer: true });
    const e = j.entryFor(w.claim(), request('pvc-u1'), 'fast', undefined);
    await j.record(e);
    expect(w.claim().metadata?.finalizers).toEqual([PROVISIONING_PROTECTION_FINALIZER]);
    await j.settle(e, 'PV saved');
    expect(w.claim().metadata?.finalizers).toEqual([]);
  });
});
