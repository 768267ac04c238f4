import { describe, expect, it } from '@jest/globals';
import type { CreateVolumeRequest, Lease } from '@csi-sidecars-ts/shared';
import {
  JOURNAL_ANNOTATION,
  JOURNAL_CLAIM_UID_LABEL,
  JOURNAL_LABEL,
  JournalEntryError,
  entryFromLease,
  entryToLease,
  journalLabelValue,
  journalLeaseName,
  journalSelector,
  replayRequest,
  sameEntry,
  storedRequest,
  type JournalEntry,
} from './journal-entry.js';

const request: CreateVolumeRequest = {
  name: 'pvc-1234',
  parameters: { type: 'ssd' },
  capacity_range: { required_bytes: 2n ** 62n + 1n },
  volume_capabilities: [{ mount: { fs_type: 'ext4', mount_flags: [] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
  secrets: { password: 'hunter2' },
  accessibility_requirements: { requisite: [{ segments: { zone: 'a' } }], preferred: [{ segments: { zone: 'a' } }] },
  volume_content_source: { snapshot: { snapshot_id: 'snap-1' } },
  mutable_parameters: { iops: '3000' },
};

function entry(over: Partial<JournalEntry> = {}): JournalEntry {
  return {
    version: 1,
    driver: 'hostpath.csi.k8s.io',
    pvName: 'pvc-1234',
    claim: { namespace: 'ns', name: 'data', uid: '1234' },
    storageClass: 'fast',
    secretRef: { namespace: 'ns', name: 'creds' },
    request: storedRequest(request),
    startedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

describe('journal entries', () => {
  it('never store secret data, and give the request back exactly (int64 included)', () => {
    const stored = storedRequest(request);
    expect(JSON.stringify(stored)).not.toContain('hunter2');
    expect(stored.capacity_range).toEqual({ required_bytes: '4611686018427387905' });
    const { secrets: _s, ...withoutSecrets } = request;
    expect(replayRequest(stored)).toEqual(withoutSecrets);
    expect(request.secrets).toEqual({ password: 'hunter2' });
  });

  it('round-trip through a labelled Lease', () => {
    const e = entry();
    const lease = entryToLease(e, 'kube-system', 'pod-1/123-hostpath');
    expect(lease.metadata).toMatchObject({
      name: 'pvc-1234.hostpath.csi.k8s.io',
      namespace: 'kube-system',
      labels: { [JOURNAL_LABEL]: 'hostpath.csi.k8s.io', [JOURNAL_CLAIM_UID_LABEL]: '1234' },
    });
    // acquireTime is a MicroTime: the apiserver refuses anything but six decimals.
    expect(lease.spec).toEqual({ holderIdentity: 'pod-1/123-hostpath', acquireTime: '2026-01-01T00:00:00.000000Z' });
    expect(JSON.stringify(lease)).not.toContain('hunter2');
    expect(entryFromLease(lease)).toEqual(e);
    expect(sameEntry(entryFromLease(lease), { ...e, startedAt: 'later' })).toBe(true);
    expect(sameEntry(e, entry({ storageClass: 'slow' }))).toBe(false);
  });

  it('have valid, distinct Lease names and label values for any driver', () => {
    expect(journalLeaseName('Weird_Driver', 'pvc-1')).toBe('pvc-1.weird-driver');
    expect(journalLeaseName('a.example.com', 'pvc-1')).not.toBe(journalLeaseName('b.example.com', 'pvc-1'));
    const long = journalLeaseName('d'.repeat(63), `p${'x'.repeat(240)}`);
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).toMatch(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/);
    expect(long).not.toBe(journalLeaseName('d'.repeat(63), `p${'x'.repeat(239)}y`));
    expect(journalLabelValue('-x_y-')).toBe('x_y');
    expect(journalLabelValue('a'.repeat(80)).length).toBeLessThanOrEqual(63);
    expect(journalSelector('hostpath.csi.k8s.io')).toBe('csi-sidecars-ts.io/journal=hostpath.csi.k8s.io');
  });

  it.each([
    [{}, 'has no csi-sidecars-ts.io/provisioning annotation'],
    [{ [JOURNAL_ANNOTATION]: '{' }, 'is not JSON'],
    [{ [JOURNAL_ANNOTATION]: JSON.stringify({ ...entry(), version: 2 }) }, 'unsupported journal entry version 2'],
    [{ [JOURNAL_ANNOTATION]: JSON.stringify({ ...entry(), claim: { name: 'x' } }) }, "lacks the claim's namespace, name and uid"],
    [{ [JOURNAL_ANNOTATION]: JSON.stringify({ ...entry(), request: { name: 'other' } }) }, 'lacks a CreateVolume request for pvc-1234'],
    [{ [JOURNAL_ANNOTATION]: JSON.stringify({ ...entry(), request: { name: 'pvc-1234', capacity_range: { required_bytes: '-1' } } }) }, 'invalid capacity_range'],
    [{ [JOURNAL_ANNOTATION]: JSON.stringify({ ...entry(), secretRef: { name: 'x' } }) }, 'invalid secretRef'],
  ])('refuse a broken Lease (%#): %s', (annotations, message) => {
    const lease: Lease = { metadata: { name: 'l', namespace: 'n', annotations } };
    expect(() => entryFromLease(lease)).toThrow(JournalEntryError);
    expect(() => entryFromLease(lease)).toThrow(message);
  });
});
