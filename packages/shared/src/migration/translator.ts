// CSI migration: in-tree volume plugins (AWS EBS, GCE PD, Cinder, Azure Disk, Azure File,
// vSphere, Portworx) whose volumes CSI drivers now serve. Translates PVs both ways and
// StorageClasses to CSI, with the zone topology rewriting that goes with it, so the attacher,
// provisioner and resizer all see migrated volumes the way csi-translation-lib presents them.

import type { PersistentVolume, StorageClass } from '../api/types.js';
import type { RegionParser, TopologySelectorTerm } from './topology.js';
import {
  allowedTopologiesToCsi,
  zoneRegionTopologyFromCsi,
  zoneRegionTopologyToCsi,
  zoneSelector,
  zoneTopologyFromCsi,
  zoneTopologyToCsi,
  MULTI_ZONE_DELIMITER,
  ZONE_LABEL_BETA,
  ZONE_LABEL_GA,
} from './topology.js';

type PvSpec = NonNullable<PersistentVolume['spec']>;
type CsiSource = NonNullable<PvSpec['csi']>;

export interface MigrationTranslator {
  /** True when the PV has an in-tree source that a CSI driver took over. */
  isPvMigratable(pv: PersistentVolume): boolean;
  /** A copy of the PV with its in-tree source replaced by the CSI source (and CSI topology). */
  translateInTreePvToCsi(pv: PersistentVolume): PersistentVolume;
  /** A copy of a CSI PV of a migration target with the in-tree source (and in-tree topology) instead. */
  translateCsiPvToInTree(pv: PersistentVolume): PersistentVolume;
  /** A copy of an in-tree StorageClass with the parameters and allowedTopologies the CSI driver takes. */
  translateInTreeStorageClassToCsi(inTreePluginName: string, sc: StorageClass): StorageClass;
  /** True when `driver` is the CSI target of an in-tree plugin. */
  isMigratedCsiDriver(driver: string): boolean;
  /** True when `plugin` (e.g. kubernetes.io/aws-ebs) is an in-tree plugin that can be migrated. */
  isMigratableInTreePlugin(plugin: string): boolean;
  /** The in-tree plugin name a CSI driver replaces, or undefined. */
  inTreePluginNameOf(driver: string): string | undefined;
  /** The CSI driver that replaces an in-tree plugin, or undefined. */
  csiDriverNameOf(inTreePluginName: string): string | undefined;
  /** The volume handle ListVolumes reports for a migrated volume on `nodeId`. */
  repairVolumeHandle(driver: string, volumeHandle: string, nodeId: string): string;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

interface InTreePlugin {
  readonly inTreeName: string;
  readonly csiDriver: string;
  /** The source field this plugin owns in a PV spec. */
  readonly sourceField: keyof PvSpec;
  /** Builds the CSI source; may also adjust the (copied) PV, e.g. access modes and topology. */
  toCsi(pv: PersistentVolume, spec: PvSpec): CsiSource;
  /** Sets the in-tree source on the (copied) PV from its CSI source. */
  fromCsi(pv: PersistentVolume, spec: PvSpec, csi: CsiSource): void;
  /** Rewrites parameters/allowedTopologies of the (copied) StorageClass. */
  storageClassToCsi(sc: StorageClass): void;
  repairVolumeHandle?(volumeHandle: string, nodeId: string): string;
}

const GCE_UNSPECIFIED = 'UNSPECIFIED';
const FSTYPE_KEY = 'fstype';
const CSI_FSTYPE_KEY = 'csi.storage.k8s.io/fstype';

export const AWS_EBS_TOPOLOGY_KEY = 'topology.ebs.csi.aws.com/zone';
export const GCE_PD_TOPOLOGY_KEY = 'topology.gke.io/zone';
export const CINDER_TOPOLOGY_KEY = 'topology.cinder.csi.openstack.org/zone';
export const AZURE_DISK_TOPOLOGY_KEY = 'topology.disk.csi.azure.com/zone';
export const VSPHERE_ZONE_KEY = 'topology.csi.vmware.com/zone';
export const VSPHERE_REGION_KEY = 'topology.csi.vmware.com/region';

function awsVolumeId(kubernetesId: string): string {
  if (!kubernetesId.startsWith('aws://')) return kubernetesId;
  // aws://<zone>/<vol-id> or aws:///<vol-id>
  const id = kubernetesId.slice('aws://'.length).replace(/^[^/]*/, '').replace(/^\/+|\/+$/g, '');
  if (!/^vol-[^/]*$/.test(id)) throw new MigrationError(`Invalid format for AWS volume (${kubernetesId})`);
  return id;
}

function singleRegion(regions: Set<string>): string {
  if (regions.size !== 1) throw new MigrationError(`multiple or no regions gotten from zones, got: ${[...regions].join(',')}`);
  return [...regions][0]!;
}

const gceRegionFromZones: RegionParser = (zones) => {
  if (zones.length === 0) throw new MigrationError('no zones specified');
  const regions = new Set<string>();
  for (const zone of zones) {
    const parts = zone.split('-');
    if (parts.length !== 3) throw new MigrationError(`zone in unexpected format, expected: {locale}-{region}-{zone}, got: ${zone}`);
    regions.add(parts.slice(0, 2).join('-'));
  }
  return singleRegion(regions);
};

/** us-west-2a, us-gov-east-1a, local zones (us-west-2-lax-1a) and wavelength zones. */
const awsRegionFromZones: RegionParser = (zones) => {
  if (zones.length === 0) throw new MigrationError('no zones specified');
  const regions = new Set<string>();
  for (const zone of zones) {
    const parts = zone.split('-');
    const last = parts[parts.length - 1]!;
    if ((parts.length === 3 || parts.length === 4) && last.length === 2) regions.add([...parts.slice(0, -1), last.slice(0, 1)].join('-'));
    else if (parts.length === 5 || parts.length === 7) regions.add(parts.slice(0, 3).join('-'));
    else throw new MigrationError(`Unexpected zone format: ${zone} is not a valid AWS zone`);
  }
  return singleRegion(regions);
};

/** In-tree GCE PD accepted RWX and RWO+ROX and treated them as RWO; keep that for CSI. */
function gceAccessModes(modes: readonly string[] | undefined): string[] | undefined {
  if (!modes) return undefined;
  const set = new Set(modes.map((m) => (m === 'ReadWriteMany' ? 'ReadWriteOnce' : m)));
  if (set.has('ReadWriteOnce')) return ['ReadWriteOnce'];
  if (set.has('ReadOnlyMany')) return ['ReadOnlyMany'];
  return ['ReadWriteOnce'];
}

function partitionOf(csi: CsiSource): number | undefined {
  const p = csi.volumeAttributes?.partition;
  if (p === undefined || p === '') return undefined;
  if (!/^[+-]?\d+$/.test(p)) throw new MigrationError(`failed to convert partition ${p} to integer`);
  return Number(p);
}

/** Parameters of block plugins: `fstype` becomes the CSI key, `zone`/`zones` become allowedTopologies. */
function zonalStorageClassToCsi(sc: StorageClass, topologyKey: string, opts: { zones: boolean; fsType: boolean; extra?: (k: string, v: string, out: Record<string, string>) => boolean }): void {
  const params: Record<string, string> = {};
  let generated: TopologySelectorTerm[] | undefined;
  for (const [k, v] of Object.entries(sc.parameters ?? {})) {
    const key = k.toLowerCase();
    if (opts.fsType && key === FSTYPE_KEY) params[CSI_FSTYPE_KEY] = v;
    else if (opts.zones && key === 'zone') generated = zoneSelector(topologyKey, [v]);
    else if (opts.zones && key === 'zones') generated = zoneSelector(topologyKey, v.split(','));
    else if (!opts.extra?.(k, v, params)) params[k] = v;
  }
  const allowed = sc.allowedTopologies ?? [];
  if (generated && allowed.length > 0) throw new MigrationError('cannot simultaneously set allowed topologies and zone/zones parameters');
  if (generated) sc.allowedTopologies = generated;
  else if (allowed.length > 0) sc.allowedTopologies = allowedTopologiesToCsi(allowed, topologyKey);
  sc.parameters = params;
}

const AZURE_MANAGED_DISK_RE = /.*\/subscriptions\/(?:.*)\/resourceGroups\/(?:.*)\/providers\/Microsoft.Compute\/disks\/(.+)/;
const AZURE_UNMANAGED_DISK_RE = /http(?:.*):\/\/(?:.*)\/vhds\/(.+)/;

function azureDiskName(uri: string): string {
  const re = uri.length > 4 && uri.slice(0, 4).toLowerCase() === 'http' ? AZURE_UNMANAGED_DISK_RE : AZURE_MANAGED_DISK_RE;
  const m = re.exec(uri);
  if (!m?.[1]) throw new MigrationError(`could not get disk name from ${uri}, correct format: ${re.source}`);
  return m[1];
}

const PORTWORX_SECRET_KINDS = ['provisioner', 'controller-publish', 'node-publish', 'node-stage', 'controller-expand', 'node-expand'] as const;

const VSPHERE_PARAMS: Readonly<Record<string, string>> = {
  storagepolicyname: 'storagepolicyname',
  datastore: 'datastore-migrationparam',
  diskformat: 'diskformat-migrationparam',
  hostfailurestotolerate: 'hostfailurestotolerate-migrationparam',
  forceprovisioning: 'forceprovisioning-migrationparam',
  cachereservation: 'cachereservation-migrationparam',
  diskstripes: 'diskstripes-migrationparam',
  objectspacereservation: 'objectspacereservation-migrationparam',
  iopslimit: 'iopslimit-migrationparam',
};

const PLUGINS: readonly InTreePlugin[] = [
  {
    inTreeName: 'kubernetes.io/aws-ebs',
    csiDriver: 'ebs.csi.aws.com',
    sourceField: 'awsElasticBlockStore',
    toCsi: (pv, s) => {
      const src = s.awsElasticBlockStore!;
      const csi: CsiSource = {
        driver: 'ebs.csi.aws.com',
        volumeHandle: awsVolumeId(src.volumeID),
        readOnly: src.readOnly ?? false,
        fsType: src.fsType ?? '',
        volumeAttributes: { partition: String(src.partition ?? 0) },
      };
      zoneTopologyToCsi(pv, AWS_EBS_TOPOLOGY_KEY);
      return csi;
    },
    fromCsi: (pv, s, csi) => {
      const partition = partitionOf(csi);
      zoneTopologyFromCsi(pv, AWS_EBS_TOPOLOGY_KEY, awsRegionFromZones);
      s.awsElasticBlockStore = { volumeID: csi.volumeHandle, fsType: csi.fsType ?? '', readOnly: csi.readOnly ?? false, ...(partition !== undefined ? { partition } : {}) };
    },
    storageClassToCsi: (sc) =>
      zonalStorageClassToCsi(sc, AWS_EBS_TOPOLOGY_KEY, {
        zones: true,
        fsType: true,
        // The in-tree plugin raised IOPS when size × iopsPerGB was too low; the driver does so only when asked.
        extra: (k, v, out) => {
          if (k.toLowerCase() !== 'iopspergb') return false;
          out[k] = v;
          out.allowautoiopspergbincrease = 'true';
          return true;
        },
      }),
  },
  {
    inTreeName: 'kubernetes.io/gce-pd',
    csiDriver: 'pd.csi.storage.gke.io',
    sourceField: 'gcePersistentDisk',
    toCsi: (pv, s) => {
      const src = s.gcePersistentDisk!;
      const labels = pv.metadata?.labels ?? {};
      const zones = (labels[ZONE_LABEL_BETA] || labels[ZONE_LABEL_GA] || '').split(MULTI_ZONE_DELIMITER);
      let handle: string;
      if (zones.length === 1 && zones[0] !== '') handle = `projects/${GCE_UNSPECIFIED}/zones/${zones[0]}/disks/${src.pdName}`;
      else if (zones.length > 1) handle = `projects/${GCE_UNSPECIFIED}/regions/${gceRegionFromZones(zones)}/disks/${src.pdName}`;
      else handle = `projects/${GCE_UNSPECIFIED}/zones/${GCE_UNSPECIFIED}/disks/${src.pdName}`;
      const modes = gceAccessModes(s.accessModes);
      if (modes) s.accessModes = modes;
      else delete s.accessModes;
      zoneTopologyToCsi(pv, GCE_PD_TOPOLOGY_KEY);
      return {
        driver: 'pd.csi.storage.gke.io',
        volumeHandle: handle,
        readOnly: src.readOnly ?? false,
        fsType: src.fsType ?? '',
        volumeAttributes: { partition: src.partition ? String(src.partition) : '' },
      };
    },
    fromCsi: (pv, s, csi) => {
      const parts = csi.volumeHandle.split('/');
      // Go's wording, trailing space included: it ends up in the provisioner's events.
      if (parts.length < 6) throw new MigrationError(`failed to get id components.Got: ${parts.length}, wanted 6 components or more. `);
      const partition = partitionOf(csi);
      zoneTopologyFromCsi(pv, GCE_PD_TOPOLOGY_KEY, gceRegionFromZones);
      s.gcePersistentDisk = { pdName: parts[5]!, fsType: csi.fsType ?? '', readOnly: csi.readOnly ?? false, ...(partition !== undefined ? { partition } : {}) };
    },
    // replication-type, type, disk-encryption-kms-key etc. pass through unchanged.
    storageClassToCsi: (sc) => zonalStorageClassToCsi(sc, GCE_PD_TOPOLOGY_KEY, { zones: true, fsType: true }),
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
    inTreeName: 'kubernetes.io/cinder',
    csiDriver: 'cinder.csi.openstack.org',
    sourceField: 'cinder',
    toCsi: (pv, s) => {
      const src = s.cinder!;
      zoneTopologyToCsi(pv, CINDER_TOPOLOGY_KEY);
      return { driver: 'cinder.csi.openstack.org', volumeHandle: src.volumeID, readOnly: src.readOnly ?? false, fsType: src.fsType ?? '', volumeAttributes: {} };
    },
    fromCsi: (pv, s, csi) => {
      zoneTopologyFromCsi(pv, CINDER_TOPOLOGY_KEY);
      s.cinder = { volumeID: csi.volumeHandle, fsType: csi.fsType ?? '', readOnly: csi.readOnly ?? false };
    },
    storageClassToCsi: (sc) => zonalStorageClassToCsi(sc, CINDER_TOPOLOGY_KEY, { zones: false, fsType: true }),
  },
  {
    inTreeName: 'kubernetes.io/azure-disk',
    csiDriver: 'disk.csi.azure.com',
    sourceField: 'azureDisk',
    toCsi: (_pv, s) => {
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
    fromCsi: (_pv, s, csi) => {
      const disk: NonNullable<PvSpec['azureDisk']> = {
        diskName: azureDiskName(csi.volumeHandle),
        diskURI: csi.volumeHandle,
        fsType: csi.fsType ?? '',
        readOnly: csi.readOnly ?? false,
        kind: 'Managed',
      };
      for (const [k, v] of Object.entries(csi.volumeAttributes ?? {})) {
        const key = k.toLowerCase();
        if (key === 'cachingmode' && v !== '') disk.cachingMode = v;
        else if (key === 'fstype' && v !== '') disk.fsType = v;
      }
      s.azureDisk = disk;
    },
    // skuName / storageaccounttype, cachingmode, kind etc. pass through unchanged.
    storageClassToCsi: (sc) => {
      zonalStorageClassToCsi(sc, AZURE_DISK_TOPOLOGY_KEY, { zones: true, fsType: false });
      // Regions without availability zones use "0", "1"… in-tree; the driver calls that zone "".
      sc.allowedTopologies = sc.allowedTopologies?.map((t) => ({
        ...t,
        ...(t.matchLabelExpressions
          ? { matchLabelExpressions: t.matchLabelExpressions.map((e) => (e.key === AZURE_DISK_TOPOLOGY_KEY ? { ...e, values: e.values.map((v) => (/^[0-9]+$/.test(v) ? '' : v)) } : e)) }
          : {}),
      }));
      if (sc.allowedTopologies === undefined) delete sc.allowedTopologies;
    },
  },
  {
    inTreeName: 'kubernetes.io/azure-file',
    csiDriver: 'file.csi.azure.com',
    sourceField: 'azureFile',
    toCsi: (pv, s) => {
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
    fromCsi: (pv, s, csi) => {
      let shareName = '';
      let secretName = '';
      let secretNamespace: string | undefined;
      for (const [k, v] of Object.entries(csi.volumeAttributes ?? {})) {
        const key = k.toLowerCase();
        if (key === 'sharename') shareName = v;
        else if (key === 'secretname') secretName = v;
        else if (key === 'secretnamespace') secretNamespace = v;
      }
      if (csi.nodeStageSecretRef?.name) {
        secretName = csi.nodeStageSecretRef.name;
        secretNamespace = csi.nodeStageSecretRef.namespace ?? '';
      }
      let resourceGroup = '';
      if (shareName === '' || secretName === '') {
        const parts = csi.volumeHandle.split('#');
        if (parts.length < 3) throw new MigrationError(`error parsing volume id: ${JSON.stringify(csi.volumeHandle)}, should at least contain two #`);
        if (shareName === '') shareName = parts[2]!;
        if (secretName === '') secretName = `azure-storage-account-${parts[1]!}-secret`;
        resourceGroup = parts[0]!;
      }
      s.azureFile = { shareName, secretName, secretNamespace: secretNamespace ?? 'default', readOnly: csi.readOnly ?? false };
      const meta = (pv.metadata ??= {});
      meta.annotations ??= {};
      if (resourceGroup !== '') meta.annotations['kubernetes.io/azure-file-resource-group'] = resourceGroup;
    },
    storageClassToCsi: () => undefined,
  },
  {
    inTreeName: 'kubernetes.io/vsphere-volume',
    csiDriver: 'csi.vsphere.vmware.com',
    sourceField: 'vsphereVolume',
    toCsi: (pv, s) => {
      const src = s.vsphereVolume!;
      const attributes: Record<string, string> = {};
      if (src.storagePolicyName) attributes.storagepolicyname = src.storagePolicyName;
      zoneRegionTopologyToCsi(pv, VSPHERE_ZONE_KEY, VSPHERE_REGION_KEY);
      return { driver: 'csi.vsphere.vmware.com', volumeHandle: src.volumePath, fsType: src.fsType ?? '', volumeAttributes: attributes };
    },
    fromCsi: (pv, s, csi) => {
      zoneRegionTopologyFromCsi(pv, VSPHERE_ZONE_KEY, VSPHERE_REGION_KEY);
      s.vsphereVolume = { volumePath: csi.volumeAttributes?.initialvolumefilepath ?? '', fsType: csi.fsType ?? '' };
    },
    storageClassToCsi: (sc) => {
      // Only the parameters the driver understands survive; the rest are dropped, as in csi-translation-lib.
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(sc.parameters ?? {})) {
        const key = k.toLowerCase();
        if (key === FSTYPE_KEY) params[CSI_FSTYPE_KEY] = v;
        else if (VSPHERE_PARAMS[key] !== undefined) params[VSPHERE_PARAMS[key]] = v;
      }
      params.csimigration = 'true';
      if ((sc.allowedTopologies ?? []).length > 0) sc.allowedTopologies = allowedTopologiesToCsi(sc.allowedTopologies!, VSPHERE_ZONE_KEY);
      sc.parameters = params;
    },
  },
  {
    inTreeName: 'kubernetes.io/portworx-volume',
    csiDriver: 'pxd.portworx.com',
    sourceField: 'portworxVolume',
    toCsi: (pv, s) => {
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
    fromCsi: (_pv, s, csi) => {
      s.portworxVolume = { volumeID: csi.volumeHandle, fsType: csi.fsType ?? '', readOnly: csi.readOnly ?? false };
    },
    storageClassToCsi: (sc) => {
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(sc.parameters ?? {})) {
        const key = k.toLowerCase();
        if (key === 'openstorage.io/auth-secret-name') for (const kind of PORTWORX_SECRET_KINDS) params[`csi.storage.k8s.io/${kind}-secret-name`] = v;
        else if (key === 'openstorage.io/auth-secret-namespace') for (const kind of PORTWORX_SECRET_KINDS) params[`csi.storage.k8s.io/${kind}-secret-namespace`] = v;
        else params[k] = v;
      }
      if (Object.keys(params).length > 0) sc.parameters = params;
      sc.provisioner = 'pxd.portworx.com';
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
    const csi = plugin.toCsi(copy, spec);
    delete spec[plugin.sourceField];
    spec.csi = csi;
    return copy;
  }

  translateCsiPvToInTree(pv: PersistentVolume): PersistentVolume {
    const csi = pv.spec?.csi;
    if (!csi) throw new MigrationError(`PersistentVolume ${JSON.stringify(pv.metadata?.name ?? '')} has no CSI source to translate`);
    const plugin = PLUGINS.find((p) => p.csiDriver === csi.driver);
    if (!plugin) throw new MigrationError(`could not find in-tree plugin translation logic for ${csi.driver}`);
    const copy = structuredClone(pv);
    const spec = copy.spec!;
    plugin.fromCsi(copy, spec, spec.csi!);
    delete spec.csi;
    return copy;
  }

  translateInTreeStorageClassToCsi(inTreePluginName: string, sc: StorageClass): StorageClass {
    const plugin = PLUGINS.find((p) => p.inTreeName === inTreePluginName);
    if (!plugin) throw new MigrationError(`could not find in-tree storage class parameter translation logic for ${JSON.stringify(inTreePluginName)}`);
    const copy = structuredClone(sc);
    plugin.storageClassToCsi(copy);
    return copy;
  }

  isMigratedCsiDriver(driver: string): boolean {
    return PLUGINS.some((p) => p.csiDriver === driver);
  }

  isMigratableInTreePlugin(plugin: string): boolean {
    return PLUGINS.some((p) => p.inTreeName === plugin);
  }

  inTreePluginNameOf(driver: string): string | undefined {
    return PLUGINS.find((p) => p.csiDriver === driver)?.inTreeName;
  }

  csiDriverNameOf(inTreePluginName: string): string | undefined {
    return PLUGINS.find((p) => p.inTreeName === inTreePluginName)?.csiDriver;
  }

  repairVolumeHandle(driver: string, volumeHandle: string, nodeId: string): string {
    const plugin = PLUGINS.find((p) => p.csiDriver === driver);
    if (!plugin) throw new MigrationError(`could not find In-Tree driver name for CSI plugin ${driver}`);
    return plugin.repairVolumeHandle ? plugin.repairVolumeHandle(volumeHandle, nodeId) : volumeHandle;
  }

  #pluginFor(pv: PersistentVolume): InTreePlugin | undefined {
    const spec = pv.spec;
    return spec ? PLUGINS.find((p) => spec[p.sourceField] !== undefined && spec[p.sourceField] !== null) : undefined;
  }
}

const shared = new CsiMigrationTranslator();

/** The translator for the in-tree plugins Kubernetes 1.36 can migrate (stateless; one is shared). */
export function createMigrationTranslator(): MigrationTranslator {
  return shared;
}
