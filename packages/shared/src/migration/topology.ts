// Zone/region rewriting between the Kubernetes topology labels in-tree volumes use and the
// topology keys of the CSI drivers that replaced them: on PV node affinity (both directions) and
// on StorageClass allowedTopologies. Functions mutate the (already copied) object they get.

import type { PersistentVolume, StorageClass } from '../api/types.js';

export const ZONE_LABEL_GA = 'topology.kubernetes.io/zone';
export const REGION_LABEL_GA = 'topology.kubernetes.io/region';
export const ZONE_LABEL_BETA = 'failure-domain.beta.kubernetes.io/zone';
export const REGION_LABEL_BETA = 'failure-domain.beta.kubernetes.io/region';
/** Separates the zones of a regional volume in the zone label value. */
export const MULTI_ZONE_DELIMITER = '__';

type PvSpec = NonNullable<PersistentVolume['spec']>;
type NodeSelectorTerm = NonNullable<NonNullable<NonNullable<PvSpec['nodeAffinity']>['required']>['nodeSelectorTerms']>[number];
export type TopologySelectorTerm = NonNullable<StorageClass['allowedTopologies']>[number];
/** Derives the region of a set of zones; throws when they do not share exactly one. */
export type RegionParser = (zones: readonly string[]) => string;

function terms(pv: PersistentVolume): NodeSelectorTerm[] {
  return pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
}

function hasKey(pv: PersistentVolume, key: string): boolean {
  return terms(pv).some((t) => (t.matchExpressions ?? []).some((e) => e.key === key));
}

/** Every value any requirement on `key` allows, sorted and without duplicates. */
export function topologyValues(pv: PersistentVolume, key: string): string[] {
  const values = new Set<string>();
  for (const t of terms(pv)) for (const e of t.matchExpressions ?? []) if (e.key === key) for (const v of e.values ?? []) values.add(v);
  return [...values].sort();
}

function renameKey(pv: PersistentVolume, from: string, to: string): void {
  for (const t of terms(pv)) for (const e of t.matchExpressions ?? []) if (e.key === from) e.key = to;
}

/** Adds `key In zones` to every term (creating one if there is none). */
function addRequirement(pv: PersistentVolume, key: string, zones: readonly string[]): void {
  const values = [...new Set(zones.map((z) => z.trim()).filter((z) => z !== ''))].sort();
  if (values.length === 0) return;
  const spec = (pv.spec ??= {});
  const affinity = (spec.nodeAffinity ??= {});
  const required = (affinity.required ??= { nodeSelectorTerms: [] });
  if (required.nodeSelectorTerms.length === 0) required.nodeSelectorTerms.push({});
  for (const t of required.nodeSelectorTerms) (t.matchExpressions ??= []).push({ key, operator: 'In', values: [...values] });
}

/** The zone/region labels the PV uses: GA unless only beta ones are present (affinity first, then labels). */
export function topologyLabelsOf(pv: PersistentVolume): { zone: string; region: string } {
  const ga = { zone: ZONE_LABEL_GA, region: REGION_LABEL_GA };
  const beta = { zone: ZONE_LABEL_BETA, region: REGION_LABEL_BETA };
  if (hasKey(pv, ZONE_LABEL_GA)) return ga;
  if (hasKey(pv, ZONE_LABEL_BETA)) return beta;
  const labels = pv.metadata?.labels ?? {};
  if (ZONE_LABEL_GA in labels) return ga;
  if (ZONE_LABEL_BETA in labels) return beta;
  return ga;
}

function setLabelIfMissing(pv: PersistentVolume, key: string, value: string): void {
  const meta = (pv.metadata ??= {});
  const labels = (meta.labels ??= {});
  if (!(key in labels)) labels[key] = value;
}

/**
 * In-tree → CSI: zone requirements move to the driver's key; without any, the zone label of the
 * PV becomes one. Beta region requirements become GA ones.
 */
export function zoneTopologyToCsi(pv: PersistentVolume, csiZoneKey: string): void {
  const { zone, region } = topologyLabelsOf(pv);
  if (topologyValues(pv, zone).length > 0) renameKey(pv, zone, csiZoneKey);
  else {
    const label = pv.metadata?.labels?.[zone];
    if (label !== undefined) addRequirement(pv, csiZoneKey, label.split(MULTI_ZONE_DELIMITER));
  }
  if (region === REGION_LABEL_BETA && topologyValues(pv, region).length > 0) renameKey(pv, region, REGION_LABEL_GA);
}

/**
 * CSI → in-tree: the driver's zone key goes back to the zone label; each term without a region
 * gets one derived from its zones (when a parser is given); zone and region labels are filled in.
 */
export function zoneTopologyFromCsi(pv: PersistentVolume, csiZoneKey: string, regionOf?: RegionParser): void {
  const { zone, region } = topologyLabelsOf(pv);
  renameKey(pv, csiZoneKey, zone);
  if (regionOf && terms(pv).length > 0) {
    for (const t of terms(pv)) {
      const exprs = t.matchExpressions ?? [];
      if (exprs.some((e) => e.key === region)) continue;
      const zones = exprs.filter((e) => e.key === zone).flatMap((e) => e.values ?? []);
      (t.matchExpressions ??= []).push({ key: region, operator: 'In', values: [regionOf(zones)] });
    }
    const regions = topologyValues(pv, region);
    if (regions.length === 1) setLabelIfMissing(pv, region, regions[0]!);
  }
  const zones = topologyValues(pv, zone);
  if (zones.length > 0) setLabelIfMissing(pv, zone, zones.join(MULTI_ZONE_DELIMITER));
}

/** vSphere's driver has both a zone and a region key; each maps to its label, one value each. */
export function zoneRegionTopologyToCsi(pv: PersistentVolume, csiZoneKey: string, csiRegionKey: string): void {
  const { zone, region } = topologyLabelsOf(pv);
  for (const [label, key] of [
    [zone, csiZoneKey],
    [region, csiRegionKey],
  ] as const) {
    if (topologyValues(pv, label).length > 0) renameKey(pv, label, key);
    else {
      const value = pv.metadata?.labels?.[label];
      if (value) addRequirement(pv, key, [value]);
    }
  }
}

export function zoneRegionTopologyFromCsi(pv: PersistentVolume, csiZoneKey: string, csiRegionKey: string): void {
  const { zone, region } = topologyLabelsOf(pv);
  renameKey(pv, csiZoneKey, zone);
  renameKey(pv, csiRegionKey, region);
  const zones = topologyValues(pv, zone);
  if (zones.length > 0) setLabelIfMissing(pv, zone, zones[0]!);
  const regions = topologyValues(pv, region);
  if (regions.length > 0) setLabelIfMissing(pv, region, regions[0]!);
}

/** StorageClass allowedTopologies: zone expressions (GA or beta) are rewritten to the driver's key. */
export function allowedTopologiesToCsi(allowed: readonly TopologySelectorTerm[], csiZoneKey: string): TopologySelectorTerm[] {
  return allowed.map((term) => {
    const out: TopologySelectorTerm = {};
    if (term.matchLabelExpressions) {
      out.matchLabelExpressions = term.matchLabelExpressions.map((e) =>
        e.key === ZONE_LABEL_GA || e.key === ZONE_LABEL_BETA ? { key: csiZoneKey, values: [...e.values] } : { key: e.key, values: [...e.values] },
      );
    }
    return out;
  });
}

/** A single term requiring `key` in `values` (the SC `zone`/`zones` parameters). */
export function zoneSelector(key: string, values: readonly string[]): TopologySelectorTerm[] {
  return [{ matchLabelExpressions: [{ key, values: [...values] }] }];
}
