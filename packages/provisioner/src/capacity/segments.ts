// Topology segments for capacity tracking: the distinct value combinations of our driver's
// topology keys over the nodes where the driver runs. One CSIStorageCapacity object is kept per
// (segment, StorageClass).

import type { CSINode, Node } from '@csi-sidecars-ts/shared';

export type SegmentEntry = readonly [key: string, value: string];
/** Sorted by key. */
export type Segment = readonly SegmentEntry[];

export function sortSegment(entries: readonly SegmentEntry[]): Segment {
  return [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
}

/** A stable text form, usable as a map key. */
export function segmentKey(segment: Segment): string {
  return JSON.stringify(segment);
}

export function segmentLabels(segment: Segment): Record<string, string> {
  return Object.fromEntries(segment);
}

/** What CSIStorageCapacity.nodeTopology holds for a segment. */
export function segmentSelector(segment: Segment): { matchLabels?: Record<string, string> } {
  return segment.length > 0 ? { matchLabels: segmentLabels(segment) } : {};
}

/** Nodes without the driver, without its keys, or lacking one of the labels contribute nothing. */
export function topologySegments(csiNodes: readonly CSINode[], node: (name: string) => Node | undefined, driverName: string): Segment[] {
  const out = new Map<string, Segment>();
  for (const csiNode of csiNodes) {
    const driver = csiNode.spec?.drivers?.find((d) => d.name === driverName);
    if (!driver || !driver.topologyKeys) continue;
    const n = node(csiNode.metadata?.name ?? '');
    if (!n) continue;
    const entries: SegmentEntry[] = [];
    let complete = true;
    for (const key of driver.topologyKeys) {
      const v = n.metadata?.labels?.[key];
      if (v === undefined) {
        complete = false;
        break;
      }
      entries.push([key, v]);
    }
    if (!complete) continue;
    const seg = sortSegment(entries);
    out.set(segmentKey(seg), seg);
  }
  return [...out.values()];
}

/**
 * The segment a PV node selector term describes (`key In [value]` only), or undefined when the
 * term is not of that shape.
 */
export function termSegment(term: { matchExpressions?: { key: string; operator: string; values?: string[] }[]; matchFields?: unknown[] }): Segment | undefined {
  if ((term.matchFields ?? []).length > 0) return undefined;
  const entries: SegmentEntry[] = [];
  for (const e of term.matchExpressions ?? []) {
    if (e.operator !== 'In' || (e.values ?? []).length !== 1) return undefined;
    entries.push([e.key, e.values![0]!]);
  }
  return sortSegment(entries);
}
