import { describe, expect, it } from '@jest/globals';
import { boundPair, TEST_DRIVER } from '../testing/fakes.js';
import { canExpand, claimWantsResize, driverServesVolume } from './volume-match.js';

describe('driver matching', () => {
  it('serves PVs whose spec.csi.driver is ours', () => {
    const { pv, pvc } = boundPair({ request: '2Gi', capacity: '1Gi' });
    expect(driverServesVolume(TEST_DRIVER, pv, pvc)).toEqual({ ok: true });
    expect(driverServesVolume('other.example.com', pv, pvc)).toMatchObject({ ok: false, reason: expect.stringContaining(TEST_DRIVER) });
  });

  it('serves in-tree PVs of a migration target only when the PVC names it in storage-resizer', () => {
    const { pv, pvc } = boundPair({ request: '2Gi', capacity: '1Gi' });
    delete pv.spec!.csi;
    pv.spec!.awsElasticBlockStore = { volumeID: 'vol-1' };
    expect(driverServesVolume('ebs.csi.aws.com', pv, pvc).ok).toBe(false);
    pvc.metadata!.annotations = { 'volume.kubernetes.io/storage-resizer': 'ebs.csi.aws.com' };
    expect(driverServesVolume('ebs.csi.aws.com', pv, pvc).ok).toBe(true);
    // A driver that is not a migration target never gets in-tree volumes through the annotation.
    pvc.metadata!.annotations = { 'volume.kubernetes.io/storage-resizer': TEST_DRIVER };
    expect(driverServesVolume(TEST_DRIVER, pv, pvc).ok).toBe(false);
  });
});

describe('claimRef check', () => {
  it('requires the PV to be bound to this namespace and UID', () => {
    const { pv, pvc } = boundPair({ request: '2Gi', capacity: '1Gi' });
    expect(canExpand(TEST_DRIVER, pv, pvc).ok).toBe(true);
    pv.spec!.claimRef!.uid = 'someone-else';
    expect(canExpand(TEST_DRIVER, pv, pvc)).toMatchObject({ ok: false, reason: expect.stringContaining('not to this claim') });
    delete pv.spec!.claimRef;
    expect(canExpand(TEST_DRIVER, pv, pvc).ok).toBe(false);
  });
});

describe('claimWantsResize', () => {
  it('only for bound claims with a volume and a request above the capacity', () => {
    const { pvc } = boundPair({ request: '2Gi', capacity: '1Gi' });
    expect(claimWantsResize(pvc)).toBe(true);
    expect(claimWantsResize({ ...pvc, status: { ...pvc.status, phase: 'Pending' } })).toBe(false);
    expect(claimWantsResize({ ...pvc, spec: { ...pvc.spec, volumeName: '' } })).toBe(false);
    expect(claimWantsResize(boundPair({ request: '2Gi', capacity: '2048Mi' }).pvc)).toBe(false);
  });
});
