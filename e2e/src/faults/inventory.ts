// The leak check run after every chaos scenario (the pmem-csi "same volumes before and after"
// pattern): the plugin's own volume list (ListVolumes, straight to the plugin, not through the
// proxy) against the driver's PersistentVolumes, plus objects left with one of our finalizers
// and journal entries left behind. Volumes that existed before the scenario are not counted, and
// neither are the mock plugin's three preloaded "Mock Volume N" volumes.
import type { CsiConnection, KubeClient, PersistentVolume, PersistentVolumeClaim, VolumeAttachment } from '@csi-sidecars-ts/shared';

export const MOCK_PRELOADED = /^Mock Volume \d+$/;
/** Finalizers the three sidecars put on objects. */
export const OUR_FINALIZERS = [
  'external-provisioner.volume.kubernetes.io/finalizer',
  'csi-sidecars-ts.io/provisioning-protection',
  'provisioner.storage.kubernetes.io/cloning-protection',
];
export const JOURNAL_LABEL = 'csi-sidecars-ts.io/journal';
/** Prefix of the annotation keys holding journal entries (packages/provisioner journal-entry.ts). */
export const JOURNAL_ENTRY_PREFIX = 'journal.csi-sidecars-ts.io/';

export interface BackendVolume {
  id: string;
  /** The CreateVolume name (the mock keeps it in volume_context.name). */
  name: string;
  capacityBytes: bigint;
  /** Node IDs the mock says the volume is published to (volume_context "<node>/dev"). */
  publishedTo: string[];
}

export async function backendVolumes(csi: CsiConnection): Promise<BackendVolume[]> {
  const out: BackendVolume[] = [];
  let token = '';
  for (let page = 0; page < 1000; page++) {
    const res = await csi.controller.listVolumes({ starting_token: token, max_entries: 500 });
    for (const e of res.entries ?? []) {
      const v = e.volume;
      if (!v) continue;
      const ctx = v.volume_context ?? {};
      const name = ctx.name ?? '';
      if (MOCK_PRELOADED.test(name)) continue;
      const publishedTo = Object.keys(ctx)
        .filter((k) => k.endsWith('/dev') && ctx[k] !== '')
        .map((k) => k.slice(0, -'/dev'.length));
      out.push({ id: v.volume_id, name, capacityBytes: v.capacity_bytes ?? 0n, publishedTo });
    }
    token = res.next_token ?? '';
    if (!token) break;
  }
  return out;
}

export async function driverPvs(client: KubeClient, driver: string): Promise<PersistentVolume[]> {
  const list = await client.request<{ items: PersistentVolume[] }>({ method: 'GET', path: '/api/v1/persistentvolumes' });
  return list.items.filter((pv) => pv.spec?.csi?.driver === driver);
}

export interface Snapshot {
  volumeIds: Set<string>;
  pvNames: Set<string>;
}

/** What exists before a scenario (so the check counts only what the scenario made). */
export async function snapshot(csi: CsiConnection, client: KubeClient, driver: string): Promise<Snapshot> {
  return {
    volumeIds: new Set((await backendVolumes(csi)).map((v) => v.id)),
    pvNames: new Set((await driverPvs(client, driver)).map((pv) => pv.metadata?.name ?? '')),
  };
}

export interface InventoryDiff {
  /** Backend volumes made during the scenario that no PV describes. */
  leaked: BackendVolume[];
  /** PVs made during the scenario whose volume is not on the backend. */
  dangling: { pv: string; handle: string }[];
  /** Objects (claims in the namespace, PVs, VolumeAttachments) still carrying one of our finalizers. */
  finalizers: string[];
  /** Backend volumes still published to a node although no VolumeAttachment says so. */
  stillPublished: BackendVolume[];
  /** Provisioning journal entries left in the namespace. */
  journal: string[];
}

export function isClean(d: InventoryDiff): boolean {
  return d.leaked.length === 0 && d.dangling.length === 0 && d.finalizers.length === 0 && d.stillPublished.length === 0 && d.journal.length === 0;
}

export function describeDiff(d: InventoryDiff): string {
  const parts: string[] = [];
  if (d.leaked.length) parts.push(`leaked ${d.leaked.length} volume(s): ${d.leaked.map((v) => `${v.name || v.id} (id ${v.id})`).join(', ')}`);
  if (d.dangling.length) parts.push(`${d.dangling.length} PV(s) without a volume: ${d.dangling.map((x) => x.pv).join(', ')}`);
  if (d.finalizers.length) parts.push(`finalizers left on ${d.finalizers.join(', ')}`);
  if (d.stillPublished.length) parts.push(`${d.stillPublished.length} volume(s) still published: ${d.stillPublished.map((v) => v.id).join(', ')}`);
  if (d.journal.length) parts.push(`${d.journal.length} journal entr${d.journal.length === 1 ? 'y' : 'ies'} left`);
  return parts.length ? parts.join('; ') : 'clean';
}

export async function inventoryDiff(
  csi: CsiConnection,
  client: KubeClient,
  opts: { driver: string; namespace: string; before: Snapshot; journalNamespace?: string },
): Promise<InventoryDiff> {
  const volumes = await backendVolumes(csi);
  const pvs = await driverPvs(client, opts.driver);
  const handles = new Set(pvs.map((pv) => pv.spec?.csi?.volumeHandle ?? ''));
  const ids = new Set(volumes.map((v) => v.id));
  const leaked = volumes.filter((v) => !opts.before.volumeIds.has(v.id) && !handles.has(v.id));
  const dangling = pvs
    .filter((pv) => !opts.before.pvNames.has(pv.metadata?.name ?? '') && !ids.has(pv.spec?.csi?.volumeHandle ?? ''))
    .map((pv) => ({ pv: pv.metadata?.name ?? '', handle: pv.spec?.csi?.volumeHandle ?? '' }));

  const finalizers: string[] = [];
  const ours = (f: string) => OUR_FINALIZERS.includes(f) || f.startsWith('external-attacher/');
  const claims = await client.request<{ items: PersistentVolumeClaim[] }>({ method: 'GET', path: `/api/v1/namespaces/${opts.namespace}/persistentvolumeclaims` });
  for (const c of claims.items) if ((c.metadata?.finalizers ?? []).some(ours)) finalizers.push(`PVC ${opts.namespace}/${c.metadata?.name}`);
  for (const pv of pvs) if (pv.metadata?.deletionTimestamp && (pv.metadata.finalizers ?? []).some(ours)) finalizers.push(`PV ${pv.metadata.name}`);
  const vas = await client.request<{ items: VolumeAttachment[] }>({ method: 'GET', path: '/apis/storage.k8s.io/v1/volumeattachments' });
  const attachedHandles = new Set<string>();
  for (const va of vas.items) {
    if (va.spec?.attacher !== opts.driver) continue;
    if (va.metadata?.deletionTimestamp && (va.metadata.finalizers ?? []).some(ours)) finalizers.push(`VolumeAttachment ${va.metadata.name}`);
    const pv = pvs.find((p) => p.metadata?.name === va.spec?.source?.persistentVolumeName);
    if (pv && va.status?.attached) attachedHandles.add(pv.spec?.csi?.volumeHandle ?? '');
  }
  const stillPublished = volumes.filter((v) => !opts.before.volumeIds.has(v.id) && v.publishedTo.length > 0 && !attachedHandles.has(v.id));

  let journal: string[] = [];
  if (opts.journalNamespace) {
    const leases = await client.request<{ items: { metadata?: { name?: string; annotations?: Record<string, string> } }[] }>({
      method: 'GET',
      path: `/apis/coordination.k8s.io/v1/namespaces/${opts.journalNamespace}/leases`,
      query: { labelSelector: JOURNAL_LABEL },
    });
    // Entries are annotations on a few shard Leases, which stay when empty.
    journal = leases.items.flatMap((l) =>
      Object.keys(l.metadata?.annotations ?? {})
        .filter((k) => k.startsWith(JOURNAL_ENTRY_PREFIX))
        .map((k) => `${l.metadata?.name ?? ''}/${k.slice(JOURNAL_ENTRY_PREFIX.length)}`),
    );
  }
  return { leaked, dangling, finalizers, stillPublished, journal };
}

/** Deletes leaked volumes straight on the plugin, so the next scenario starts clean. */
export async function removeLeaks(csi: CsiConnection, leaked: readonly BackendVolume[]): Promise<void> {
  for (const v of leaked) await csi.controller.deleteVolume({ volume_id: v.id }).catch(() => undefined);
}
