// CSI migration as the attacher needs it: recognise an in-tree PV (AWS EBS, GCE PD, Cinder,
// Azure Disk, Azure File, vSphere, Portworx), turn its in-tree source into the CSI source the
// migrated driver expects, and repair a migrated volume handle with the node ID (GCE PD only).
//
// Only what ControllerPublish/Unpublish read is translated: the CSI source (driver, handle,
// readOnly, fsType, attributes, secret refs) and, for GCE PD, the access modes. Topology
// (node affinity) rewriting is left out: the attacher never reads it.

import type { PersistentVolume } from '@csi-sidecars-ts/shared';

type PvSpec = NonNullable<PersistentVolume['spec']>;
type CsiSource = NonNullable<PvSpec['csi']>;

export interface MigrationTranslator {
  /** True when the PV has an in-tree source that a CSI driver took over. */
  isPvMigratable(pv: PersistentVolume): boolean;
  /** A copy of the PV with its in-tree source replaced by the CSI source. */
  translateInTreePvToCsi(pv: PersistentVolume): PersistentVolume;
  /** True when `driver` is the CSI target of an in-tree plugin. */
  isMigratedCsiDriver(driver: string): boolean;
  /** The volume handle ListVolumes reports for a migrated volume on `nodeId`. */
  repairVolumeHandle(driver: string, volumeHandle: string, nodeId: string): string;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

interface InTreePlugin {
  readonly csiDriver: string;
  canSupport(spec: PvSpec): boolean;
  /** Builds the CSI source; may also adjust the (copied) spec, e.g. access modes. */
  translate(pv: PersistentVolume, spec: PvSpec): CsiSource;
  /** The source field to clear after translation. */
  readonly sourceField: keyof PvSpec;
  repairVolumeHandle?(volumeHandle: string, nodeId: string): string;
}

const GCE_UNSPECIFIED = 'UNSPECIFIED';
const ZONE_LABEL_BETA = 'failure-domain.beta.kubernetes.io/zone';
const ZONE_LABEL_GA = 'topology.kubernetes.io/zone';
const MULTI_ZONE_DELIMITER = '__';

function awsVolumeId(kubernetesId: string): string {
  if (!kubernetesId.startsWith('aws://')) return kubernetesId;
  // aws://<zone>/<vol-id> or aws:///<vol-id>
  const id = kubernetesId.slice('aws://'.length).replace(/^[^/]*/, '').replace(/^\/+|\/+$/g, '');
  if (!/^vol-[^/]*$/.test(id)) throw new MigrationError(`Invalid format for AWS volume (${kubernetesId})`);
  return id;
}

function gceRegionFromZones(zones: readonly string[]): string {
  if (zones.length === 0) throw new MigrationError('no zones specified');
  const regions = new Set<string>();
  for (const zone of zones) {
    const parts = zone.split('-');
    if (parts.length !== 3) throw new MigrationError(`zone in unexpected format, expected: {locale}-{region}-{zone}, got: ${zone}`);
    regions.add(parts.slice(0, 2).join('-'));
  }
  if (regions.size !== 1) throw new MigrationError(`multiple or no regions gotten from zones, got: ${[...regions].join(',')}`);
  return [...regions][0]!;
}

/** In-tree GCE PD accepted RWX and RWO+ROX and treated them as RWO; keep that for CSI. */
function gceAccessModes(modes: readonly string[] | undefined): string[] | undefined {
  if (!modes) return undefined;
  const set = new Set(modes.map((m) => (m === 'ReadWriteMany' ? 'ReadWriteOnce' : m)));
  if (set.has('ReadWriteOnce')) return ['ReadWriteOnce'];
  if (set.has('ReadOnlyMany')) return ['ReadOnlyMany'];
  return ['ReadWriteOnce'];
}

const PLUGINS: readonly InTreePlugin[] = [
  {
    csiDriver: 'ebs.csi.aws.com',
    sourceField: 'awsElasticBlockStore',
    canSupport: (s) => !!s.awsElasticBlockStore,
    translate: (_pv, s) => {
      const src = s.awsElasticBlockStore!;
      return {
        driver: 'ebs.csi.aws.com',
        volumeHandle: awsVolumeId(src.volumeID),
        readOnly: src.readOnly ?? false,
        fsType: src.fsType ?? '',
        volumeAttributes: { partition: String(src.partition ?? 0) },
      };
    },
  },
  {
    csiDriver: 'pd.csi.storage.gke.io',
    sourceField: 'gcePersistentDisk',
    canSupport: (s) => !!s.gcePersistentDisk,
    translate: (pv, s) => {
      const src = s.gcePersistentDisk!;
      const labels = pv.metadata?.labels ?? {};
      const zonesLabel = labels[ZONE_LABEL_BETA] || labels[ZONE_LABEL_GA] || '';
      const zones = zonesLabel.split(MULTI_ZONE_DELIMITER);
      let handle: string;
      if (zones.length === 1 && zones[0] !== '') handle = `projects/${GCE_UNSPECIFIED}/zones/${zones[0]}/disks/${src.pdName}`;
      else if (zones.length > 1) handle = `projects/${GCE_UNSPECIFIED}/regions/${gceRegionFromZones(zones)}/disks/${src.pdName}`;
      else handle = `projects/${GCE_UNSPECIFIED}/zones/${GCE_UNSPECIFIED}/disks/${src.pdName}`;
      const modes = gceAccessModes(s.accessModes);
      if (modes) s.accessModes = modes;
      else delete s.accessModes;
      return {
        driver: 'pd.csi.storage.gke.io',
        volumeHandle: handle,
        readOnly: src.readOnly ?? false,
        fsType: src.fsType ?? '',
        volumeAttributes: { partition: src.partition ? String(src.partition) : '' },
      };
    },
    repairVolumeHandle: (volumeHandle, nodeId) => {
      const tok = volumeHandle.split('/');
      if (tok.length < 6) throw new MigrationError(`volume handle has wrong number of elements; got ${tok.length}, wanted 6 or more`);
      if (tok[1] !== GCE_UNSPECIFIED) return volumeHandle;
      const nodeTok = nodeId.split('/');
      if (nodeTok.length < 6) throw new MigrationError(`node handle has wrong number of elements; got ${nodeTok.length}, wanted 6 or more`);
      const project = nodeTok[1]!;
      const disk = tok[5]!;
      switch (tok[2]) {
        case 'zones': {
          const zone = tok[3] === GCE_UNSPECIFIED ? nodeTok[3]! : tok[3]!;
          return `projects/${project}/zones/${zone}/disks/${disk}`;
        }
        case 'regions': {
          const region = tok[3] === GCE_UNSPECIFIED ? gceRegionFromZones([nodeTok[3]!]) : tok[3]!;
          return `projects/${project}/regions/${region}/disks/${disk}`;
        }
        default:
          throw new MigrationError(`expected volume handle to have zones or regions regionality value, got: ${tok[2]}`);
      }
    },
  },
  {
    csiDriver: 'cinder.csi.openstack.org',
    sourceField: 'cinder',
    canSupport: (s) => !!s.cinder,
    translate: (_pv, s) => {
      const src = s.cinder!;
      return {
        driver: 'cinder.csi.openstack.org',
        volumeHandle: src.volumeID,
        readOnly: src.readOnly ?? false,
        fsType: src.fsType ?? '',
        volumeAttributes: {},
      };
    },
  },
  {
    csiDriver: 'disk.csi.azure.com',
    sourceField: 'azureDisk',
    canSupport: (s) => !!s.azureDisk,
    translate: (_pv, s) => {
      const src = s.azureDisk!;
      if (src.kind !== undefined && src.kind.toLowerCase() !== 'managed') {
        throw new MigrationError(`kind(${src.kind}) is not supported in csi migration`);
      }
      const attributes: Record<string, string> = { kind: 'Managed' };
      if (src.cachingMode !== undefined) attributes.cachingmode = src.cachingMode;
      const out: CsiSource = { driver: 'disk.csi.azure.com', volumeHandle: src.diskURI, volumeAttributes: attributes };
      if (src.fsType !== undefined) {
        out.fsType = src.fsType;
        attributes.fstype = src.fsType;
      }
      if (src.readOnly !== undefined) out.readOnly = src.readOnly;
      return out;
    },
  },
  {
    csiDriver: 'file.csi.azure.com',
    sourceField: 'azureFile',
    canSupport: (s) => !!s.azureFile,
    translate: (pv, s) => {
      const src = s.azureFile!;
      const account = /azure-storage-account-(.+)-secret/.exec(src.secretName)?.[1] ?? src.secretName;
      const resourceGroup = pv.metadata?.annotations?.['kubernetes.io/azure-file-resource-group'] ?? '';
      const namespace = src.secretNamespace ?? s.claimRef?.namespace ?? '';
      if (!namespace) throw new MigrationError('could not find a secret namespace in PersistentVolumeSource or ClaimRef');
      return {
        driver: 'file.csi.azure.com',
        volumeHandle: `${resourceGroup}#${account}#${src.shareName}#${pv.metadata?.name ?? ''}#${namespace}`,
        readOnly: src.readOnly ?? false,
        volumeAttributes: { sharename: src.shareName },
        nodeStageSecretRef: { name: src.secretName, namespace },
      };
    },
  },
  {
    csiDriver: 'csi.vsphere.vmware.com',
    sourceField: 'vsphereVolume',
    canSupport: (s) => !!s.vsphereVolume,
    translate: (_pv, s) => {
      const src = s.vsphereVolume!;
      const attributes: Record<string, string> = {};
      if (src.storagePolicyName) attributes.storagepolicyname = src.storagePolicyName;
      return { driver: 'csi.vsphere.vmware.com', volumeHandle: src.volumePath, fsType: src.fsType ?? '', volumeAttributes: attributes };
    },
  },
  {
    csiDriver: 'pxd.portworx.com',
    sourceField: 'portworxVolume',
    canSupport: (s) => !!s.portworxVolume,
    translate: (pv, s) => {
      const src = s.portworxVolume!;
      const ann = pv.metadata?.annotations ?? {};
      const name = ann['openstorage.io/auth-secret-name'];
      const ns = ann['openstorage.io/auth-secret-namespace'];
      const ref = name !== undefined && ns !== undefined ? { name, namespace: ns } : undefined;
      return {
        driver: 'pxd.portworx.com',
        volumeHandle: src.volumeID,
        fsType: src.fsType ?? '',
        volumeAttributes: {},
        ...(ref
          ? {
              controllerPublishSecretRef: { ...ref },
              nodeStageSecretRef: { ...ref },
              nodePublishSecretRef: { ...ref },
              controllerExpandSecretRef: { ...ref },
              nodeExpandSecretRef: { ...ref },
            }
          : {}),
      };
    },
  },
];

class CsiMigrationTranslator implements MigrationTranslator {
  isPvMigratable(pv: PersistentVolume): boolean {
    return this.#pluginFor(pv) !== undefined;
  }

  translateInTreePvToCsi(pv: PersistentVolume): PersistentVolume {
    const plugin = this.#pluginFor(pv);
    if (!plugin) throw new MigrationError(`could not find in-tree plugin translation logic for ${JSON.stringify(pv.metadata?.name ?? '')}`);
    const copy = structuredClone(pv);
    const spec = copy.spec!;
    const csi = plugin.translate(copy, spec);
    delete spec[plugin.sourceField];
    spec.csi = csi;
    return copy;
  }

  isMigratedCsiDriver(driver: string): boolean {
    return PLUGINS.some((p) => p.csiDriver === driver);
  }

  repairVolumeHandle(driver: string, volumeHandle: string, nodeId: string): string {
    const plugin = PLUGINS.find((p) => p.csiDriver === driver);
    if (!plugin) throw new MigrationError(`could not find In-Tree driver name for CSI plugin ${driver}`);
    return plugin.repairVolumeHandle ? plugin.repairVolumeHandle(volumeHandle, nodeId) : volumeHandle;
  }

  #pluginFor(pv: PersistentVolume): InTreePlugin | undefined {
    const spec = pv.spec;
    return spec ? PLUGINS.find((p) => p.canSupport(spec)) : undefined;
  }
}

/** The translator for the in-tree plugins Kubernetes 1.36 can migrate. */
export function createMigrationTranslator(): MigrationTranslator {
  return new CsiMigrationTranslator();
}
