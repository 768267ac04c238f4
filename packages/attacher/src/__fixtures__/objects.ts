// Object builders for the attacher's tests.
import type { CSINode, PersistentVolume, VolumeAttachment } from '@csi-sidecars-ts/shared';

export const DRIVER = 'fake.csi.example.com';
export const FINALIZER = 'external-attacher/fake-csi-example-com';
export const PV_PROTECTION = 'kubernetes.io/pv-protection';

export function va(name: string, opts: {
  pv?: string;
  node?: string;
  attacher?: string;
  finalizers?: string[];
  annotations?: Record<string, string>;
  attached?: boolean;
  deleted?: boolean;
  inline?: NonNullable<PersistentVolume['spec']>;
  rv?: string;
  status?: VolumeAttachment['status'];
} = {}): VolumeAttachment {
  const source: NonNullable<VolumeAttachment['spec']>['source'] = {};
  if (opts.inline) source.inlineVolumeSpec = opts.inline;
  else source.persistentVolumeName = opts.pv ?? 'pv-1';
  const out: VolumeAttachment = {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'VolumeAttachment',
    metadata: {
      name,
      ...(opts.rv ? { resourceVersion: opts.rv } : {}),
      ...(opts.finalizers ? { finalizers: opts.finalizers } : {}),
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      ...(opts.deleted ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
    },
    spec: { attacher: opts.attacher ?? DRIVER, nodeName: opts.node ?? 'node-1', source },
  };
  if (opts.status) out.status = opts.status;
  else if (opts.attached !== undefined) out.status = { attached: opts.attached };
  return out;
}

export function csiPv(name: string, opts: {
  handle?: string;
  finalizers?: string[];
  deleted?: boolean;
  accessModes?: string[];
  volumeMode?: 'Block' | 'Filesystem';
  fsType?: string;
  readOnly?: boolean;
  mountOptions?: string[];
  attributes?: Record<string, string>;
  secretRef?: { name: string; namespace: string };
  driver?: string;
} = {}): PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name,
      finalizers: opts.finalizers ?? [PV_PROTECTION],
      ...(opts.deleted ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
    },
    spec: {
      accessModes: opts.accessModes ?? ['ReadWriteOnce'],
      capacity: { storage: '1Gi' },
      ...(opts.volumeMode ? { volumeMode: opts.volumeMode } : {}),
      ...(opts.mountOptions ? { mountOptions: opts.mountOptions } : {}),
      csi: {
        driver: opts.driver ?? DRIVER,
        volumeHandle: opts.handle ?? `handle-${name}`,
        ...(opts.fsType !== undefined ? { fsType: opts.fsType } : {}),
        ...(opts.readOnly !== undefined ? { readOnly: opts.readOnly } : {}),
        ...(opts.attributes ? { volumeAttributes: opts.attributes } : {}),
        ...(opts.secretRef ? { controllerPublishSecretRef: opts.secretRef } : {}),
      },
    },
  };
}

export function csiNode(name: string, drivers: Record<string, string>): CSINode {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'CSINode',
    metadata: { name },
    spec: { drivers: Object.entries(drivers).map(([driver, nodeID]) => ({ name: driver, nodeID })) },
  };
}
