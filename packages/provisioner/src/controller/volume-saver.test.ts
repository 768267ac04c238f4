import { describe, expect, it } from '@jest/globals';
import { FakeClock, KubeApiError, MemoryEventRecorder, discardLogger, flushMicrotasks } from '@csi-sidecars-ts/shared';
import type { PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import type { ProvisionerApi } from '../adapters/kube-api.js';
import { VolumeSaver, type SaveJob } from './volume-saver.js';

const FORBIDDEN = 'persistentvolumes is forbidden: User "system:serviceaccount:ns:sa" cannot create resource "persistentvolumes" in API group "" at the cluster scope';

function pv(): PersistentVolume {
  return {
    metadata: { name: 'pvc-1' },
    spec: { csi: { driver: 'd', volumeHandle: 'vol-1' }, claimRef: { namespace: 'ns', name: 'c', uid: 'claim-1' } },
  } as PersistentVolume;
}

/** A saver whose PV creates are always forbidden (the RBAC of chaos row 14). */
function forbiddenSaver(opts: { pvExists?: boolean } = {}) {
  const clock = new FakeClock();
  const recorder = new MemoryEventRecorder();
  const deleted: string[] = [];
  const settled: string[] = [];
  const state = { claimAlive: true };
  const claim = { metadata: { name: 'c', namespace: 'ns', uid: 'claim-1' } } as PersistentVolumeClaim;
  const api = {
    createPersistentVolume: () => Promise.reject(new KubeApiError(403, 'Forbidden', FORBIDDEN)),
    getPersistentVolume: () => (opts.pvExists ? Promise.resolve(pv()) : Promise.reject(new KubeApiError(404, 'NotFound', 'persistentvolumes "pvc-1" not found'))),
  } as unknown as ProvisionerApi;
  const saver = new VolumeSaver({
    api,
    deleteBackendVolume: (id) => {
      deleted.push(id);
      return Promise.resolve(undefined);
    },
    claimByUid: (uid) => (state.claimAlive && uid === 'claim-1' ? claim : undefined),
    recorder,
    logger: discardLogger,
    clock,
    onSettled: (_job, outcome) => {
      settled.push(outcome);
    },
  });
  return { saver, clock, recorder, deleted, settled, state };
}

const job = (): SaveJob => ({ pv: pv(), volumeId: 'vol-1', secrets: undefined, claimUid: 'claim-1' });

async function advanceUntil(clock: FakeClock, done: () => boolean, stepMs = 250, steps = 400): Promise<void> {
  for (let i = 0; i < steps && !done(); i++) {
    await clock.advance(stepMs);
    await flushMicrotasks();
  }
}

describe('VolumeSaver when the PV cannot be saved', () => {
  it('tells the claim once, naming the error (e.g. the missing permission), and keeps retrying', async () => {
    const { saver, clock, recorder, deleted } = forbiddenSaver();
    const stop = new AbortController();
    const running = saver.run(stop.signal);
    expect(await saver.store(job())).toBe('pending');
    await advanceUntil(clock, () => false, 250, 40);
    const warnings = recorder.for('c', 'ns').filter((e) => e.type === 'Warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ reason: 'ProvisioningFailed' });
    expect(warnings[0]!.message).toContain('cannot create resource "persistentvolumes"');
    expect(warnings[0]!.message).toContain('pvc-1');
    expect(deleted).toEqual([]);
    expect(saver.has('pvc-1')).toBe(true);
    stop.abort();
    saver.dispose();
    await running;
  });

  it('deletes the volume instead of retrying forever once the claim is gone', async () => {
    const { saver, clock, deleted, settled, state } = forbiddenSaver();
    const stop = new AbortController();
    const running = saver.run(stop.signal);
    expect(await saver.store(job())).toBe('pending');
    await advanceUntil(clock, () => false, 250, 8);
    expect(deleted).toEqual([]);
    state.claimAlive = false;
    await advanceUntil(clock, () => deleted.length > 0);
    expect(deleted).toEqual(['vol-1']);
    expect(settled).toEqual(['stray']);
    expect(saver.has('pvc-1')).toBe(false);
    stop.abort();
    saver.dispose();
    await running;
  });

  it('leaves the volume to the deletion path when an earlier create went through after all', async () => {
    const { saver, clock, deleted, settled, state } = forbiddenSaver({ pvExists: true });
    const stop = new AbortController();
    const running = saver.run(stop.signal);
    expect(await saver.store(job())).toBe('pending');
    state.claimAlive = false;
    await advanceUntil(clock, () => settled.length > 0);
    expect(settled).toEqual(['saved']);
    expect(deleted).toEqual([]);
    stop.abort();
    saver.dispose();
    await running;
  });
});
