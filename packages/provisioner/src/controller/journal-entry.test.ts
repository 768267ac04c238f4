import { describe, expect, it } from '@jest/globals';
import type { CreateVolumeRequest, Lease } from '@csi-sidecars-ts/shared';
import {
  JOURNAL_ENTRY_PREFIX,
  JOURNAL_LABEL,
  JOURNAL_NODE_LABEL,
  JournalEntryError,
  changedEntryKeys,
  entryClaimUids,
  entryFromLease,
  entryKeyMayBelongTo,
  entryKeys,
  entryKeysMayBelongTo,
  entryText,
  journalEntryKey,
  journalLabelValue,
  journalShardName,
  journalSelector,
  shardLabels,
  shardLease,
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

  it('round-trip through a labelled shard Lease, one annotation per entry', () => {
    const e = entry();
    const other = entry({ pvName: 'pvc-5678', claim: { namespace: 'ns', name: 'logs', uid: '5678' }, request: storedRequest({ ...request, name: 'pvc-5678' }) });
    const keys = [journalEntryKey('1234', 'pvc-1234'), journalEntryKey('5678', 'pvc-5678')] as const;
    const lease = shardLease('csi-journal-0.hostpath.csi.k8s.io', 'kube-system', shardLabels('hostpath.csi.k8s.io'), 'pod-1/123-hostpath', new Map([[keys[0], entryText(e)], [keys[1], entryText(other)]]));
    expect(lease.metadata).toMatchObject({ name: 'csi-journal-0.hostpath.csi.k8s.io', namespace: 'kube-system', labels: { [JOURNAL_LABEL]: 'hostpath.csi.k8s.io' } });
    expect(lease.spec).toEqual({ holderIdentity: 'pod-1/123-hostpath' });
    expect(JSON.stringify(lease)).not.toContain('hunter2');
    expect(entryKeys(lease)).toEqual([...keys]);
    expect(entryFromLease(lease, keys[0])).toEqual(e);
    expect(entryFromLease(lease, keys[1])).toEqual(other);
    expect(entryClaimUids(lease).sort()).toEqual(['1234', '5678']);
    expect(sameEntry(entryFromLease(lease, keys[0]), { ...e, startedAt: 'later' })).toBe(true);
    expect(sameEntry(e, entry({ storageClass: 'slow' }))).toBe(false);
    // A shard update names only the entries it added or changed.
    const updated = { ...lease, metadata: { ...lease.metadata, annotations: { [keys[1]]: entryText({ ...other, storageClass: 'slow' }) } } };
    expect(changedEntryKeys(lease, updated)).toEqual([keys[1]]);
    expect(changedEntryKeys(undefined, lease)).toEqual([...keys]);
    expect(shardLabels('d', 'node-1')).toEqual({ [JOURNAL_LABEL]: 'd', [JOURNAL_NODE_LABEL]: 'node-1' });
  });

  it('have valid, distinct entry keys, shard names and label values for any driver', () => {
    const key = journalEntryKey('0b6c3a7e-1f4d-4a57-9d2c-5e0d3f6a8b91', 'pvc-0b6c3a7e-1f4d-4a57-9d2c-5e0d3f6a8b91');
    expect(key.startsWith(JOURNAL_ENTRY_PREFIX)).toBe(true);
    expect(key.slice(JOURNAL_ENTRY_PREFIX.length)).toMatch(/^0b6c3a7e-1f4d-4a57-9d2c-5e0d3f6a8b91\.[0-9a-f]{8}$/);
    expect(journalEntryKey('u', 'pvc-a')).not.toBe(journalEntryKey('u', 'pvc-b'));
    // A UID that cannot be part of a key is hashed; the entry then says whose it is.
    const odd = journalEntryKey('Odd UID/with slash', 'pvc-1');
    expect(odd.slice(JOURNAL_ENTRY_PREFIX.length)).toMatch(/^x[0-9a-f]{16}\.[0-9a-f]{8}$/);
    expect(entryKeyMayBelongTo(odd, 'anything')).toBe(true);
    expect(entryKeyMayBelongTo(journalEntryKey('u1', 'pvc-1'), 'u2')).toBe(false);
    expect(entryKeyMayBelongTo(journalEntryKey('u1', 'pvc-1'), 'u1')).toBe(true);

    expect(journalShardName('Weird_Driver', 0)).toBe('csi-journal-0.weird-driver');
    expect(journalShardName('d', 2, 'Node_1')).toBe('csi-journal-2.node-1.d');
    expect(journalShardName('a.example.com', 0)).not.toBe(journalShardName('b.example.com', 0));
    const long = journalShardName('d'.repeat(63), 1, `n${'x'.repeat(240)}`);
    expect(long.length).toBeLessThanOrEqual(253);
    expect(long).toMatch(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/);
    expect(long).not.toBe(journalShardName('d'.repeat(63), 2, `n${'x'.repeat(240)}`));
    expect(journalLabelValue('-x_y-')).toBe('x_y');
    expect(journalLabelValue('a'.repeat(80)).length).toBeLessThanOrEqual(63);
    expect(journalSelector('hostpath.csi.k8s.io')).toBe('csi-sidecars-ts.io/journal=hostpath.csi.k8s.io');
  });

  it("find a claim's keys in a shard exactly as entryKeyMayBelongTo does, malformed and hashed keys included", () => {
    const uids = ['u1', 'u12', 'u1-2', 'xavier', '0b6c3a7e-1f4d-4a57-9d2c-5e0d3f6a8b91', 'Odd UID/with slash', 'a.b', ''];
    const keys = [
      ...uids.flatMap((u) => [journalEntryKey(u, 'pvc-1'), journalEntryKey(u, 'pvc-2')]),
      `${JOURNAL_ENTRY_PREFIX}nodot`,
      `${JOURNAL_ENTRY_PREFIX}.leading`,
      `${JOURNAL_ENTRY_PREFIX}u1.`,
      `${JOURNAL_ENTRY_PREFIX}u1.x.y`,
      `${JOURNAL_ENTRY_PREFIX}a.b.c`,
      `${JOURNAL_ENTRY_PREFIX}`,
      'other.example.com/u1.abc',
    ];
    const lease: Lease = { metadata: { name: 'l', namespace: 'n', annotations: Object.fromEntries(keys.map((k) => [k, '{}'])) } };
    for (const uid of [...uids, 'u', 'x', 'u1.x', 'a']) {
      expect(entryKeysMayBelongTo(lease, uid).sort()).toEqual(entryKeys(lease).filter((k) => entryKeyMayBelongTo(k, uid)).sort());
    }
    expect(entryKeysMayBelongTo(lease, 'u1')).toContain(journalEntryKey('u1', 'pvc-2'));
    expect(entryKeysMayBelongTo(lease, 'u1')).not.toContain(journalEntryKey('u12', 'pvc-1'));
    expect(entryKeysMayBelongTo({ metadata: {} }, 'u1')).toEqual([]);
  });

  const KEY = journalEntryKey('1234', 'pvc-1234');
  it.each([
    [{}, 'is missing'],
    [{ [KEY]: '{' }, 'is not JSON'],
    [{ [KEY]: JSON.stringify({ ...entry(), version: 2 }) }, 'unsupported journal entry version 2'],
    [{ [KEY]: JSON.stringify({ ...entry(), claim: { name: 'x' } }) }, "lacks the claim's namespace, name and uid"],
    [{ [KEY]: JSON.stringify({ ...entry(), request: { name: 'other' } }) }, 'lacks a CreateVolume request for pvc-1234'],
    [{ [KEY]: JSON.stringify({ ...entry(), request: { name: 'pvc-1234', capacity_range: { required_bytes: '-1' } } }) }, 'invalid capacity_range'],
    [{ [KEY]: JSON.stringify({ ...entry(), secretRef: { name: 'x' } }) }, 'invalid secretRef'],
    [{ [KEY]: JSON.stringify({ ...entry(), claim: { namespace: 'ns', name: 'data', uid: '9999' } }) }, "does not match the entry's claim UID and PV name"],
  ])('refuse a broken entry (%#): %s', (annotations, message) => {
    const lease: Lease = { metadata: { name: 'l', namespace: 'n', annotations } };
    expect(() => entryFromLease(lease, KEY)).toThrow(JournalEntryError);
    expect(() => entryFromLease(lease, KEY)).toThrow(message);
  });
});
