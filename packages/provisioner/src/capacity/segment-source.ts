// Segment sources for capacity tracking: the cluster's nodes (recomputed, coalesced, when a
// CSINode or a Node's labels change) or, in node-deployment mode, the one fixed segment of this
// node.

import { toDisposable } from '@csi-sidecars-ts/shared';
import type { CSINode, Clock, Disposable, Informer, Node } from '@csi-sidecars-ts/shared';
import type { SegmentSource } from './capacity-controller.js';
import type { Segment } from './segments.js';
import { sortSegment, topologySegments } from './segments.js';

export function fixedSegmentSource(segments: Readonly<Record<string, string>>): SegmentSource {
  const seg = sortSegment(Object.entries(segments));
  return { list: () => [seg], onChange: () => toDisposable(() => undefined) };
}

/** How long changes are collected before the segments are recomputed. */
export const SEGMENT_COALESCE_MS = 200;

function sameLabels(a: Node, b: Node): boolean {
  return JSON.stringify(a.metadata?.labels ?? {}) === JSON.stringify(b.metadata?.labels ?? {});
}

export function clusterSegmentSource(driverName: string, csiNodes: Informer<CSINode>, nodes: Informer<Node>, clock: Clock): SegmentSource {
  return {
    list: (): Segment[] => topologySegments(csiNodes.store.list(), (n) => nodes.store.get(n), driverName),
    onChange(cb: () => void): Disposable {
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      const poke = () => {
        if (timer !== undefined) return;
        timer = clock.setTimeout(() => {
          timer = undefined;
          cb();
        }, SEGMENT_COALESCE_MS);
      };
      const a = csiNodes.addEventHandler({ onAdd: poke, onUpdate: poke, onDelete: poke });
      const b = nodes.addEventHandler({ onAdd: poke, onUpdate: (o, n) => (sameLabels(o, n) ? undefined : poke()), onDelete: poke });
      return toDisposable(async () => {
        if (timer !== undefined) clock.clearTimeout(timer);
        await a.dispose();
        await b.dispose();
      });
    },
  };
}
