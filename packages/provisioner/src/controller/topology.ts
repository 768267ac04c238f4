// CreateVolume's accessibility_requirements, computed from informer caches (CSINodes, Nodes)
// and the StorageClass, and the PV node affinity from the driver's answer.
//
//  - WaitForFirstConsumer (a node was selected): topology keys come from that node's CSINode
//    entry for our driver, the selected topology from the node's labels. Strict topology sends
//    only that; otherwise all allowed / all cluster topologies with the selected one preferred.
//  - Immediate binding: allowedTopologies, or (with --immediate-topology) every topology of the
//    nodes that run the driver, rotated per claim name so StatefulSet replicas spread out.

import type { CSINode, CsiTopologyInput, CsiTopologyRequirementInput, Node, StorageClass } from '@csi-sidecars-ts/shared';
import type { TopologyCache } from './topology-cache.js';
import {
  flattenAllowedTopologies,
  formatTerm,
  formatTerms,
  isSubset,
  sortUniqueTerms,
  termFromLabels,
  termToSegments,
  type TopologyTerm,
} from './topology-terms.js';

/** Read access to the cached cluster state the computation needs. */
export interface TopologyLookup {
  getCSINode(name: string): CSINode | undefined;
  listCSINodes(): readonly CSINode[];
  getNode(name: string): Node | undefined;
  listNodes(): readonly Node[];
  /**
   * A number that changes whenever a Node or CSINode is added, changed or removed. When given,
   * what is computed from all Nodes/CSINodes is kept until it changes, instead of being redone
   * for every claim (O(nodes) each).
   */
  generation?(): number;
}

/** Whether two versions of an object carry the same labels (a Node's topology comes from its labels only). */
export function sameLabels(a: { metadata?: { labels?: Record<string, string> } }, b: { metadata?: { labels?: Record<string, string> } }): boolean {
  const la = a.metadata?.labels ?? {};
  const lb = b.metadata?.labels ?? {};
  const keys = Object.keys(la);
  if (keys.length !== Object.keys(lb).length) return false;
  return keys.every((k) => Object.hasOwn(lb, k) && la[k] === lb[k]);
}

/** The selected node (or its CSINode) no longer exists: the scheduler must pick again. */
export class SelectedNodeGoneError extends Error {
  override readonly name = 'SelectedNodeGoneError';
}

export class TopologyError extends Error {
  override readonly name = 'TopologyError';
}

export interface AccessibilityInput {
  driverName: string;
  claimUid: string;
  claimName: string;
  allowedTopologies: StorageClass['allowedTopologies'];
  /** '' or undefined for immediate binding. */
  selectedNode?: string;
  strictTopology: boolean;
  immediateTopology: boolean;
  lookup: TopologyLookup;
  cache: TopologyCache;
  /** For the shuffle of CSINodes and for claims without a name; Math.random by default. */
  random?: () => number;
}

export function topologyKeysOf(csiNode: CSINode | undefined, driverName: string): string[] {
  return [...(csiNode?.spec?.drivers?.find((d) => d.name === driverName)?.topologyKeys ?? [])];
}

/** Go's %v of a map: map[k1:v1 k2:v2] (sorted keys). */
function goMap(m: Readonly<Record<string, string>> | undefined): string {
  return `map[${Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}:${m![k]}`)
    .join(' ')}]`;
}

function selectedNodeKeys(input: AccessibilityInput, node: string): string[] {
  const cached = input.cache.get(input.claimUid)?.topologyKeys;
  if (cached && cached.length > 0) return [...cached];
  const csiNode = input.lookup.getCSINode(node);
  if (!csiNode) throw new SelectedNodeGoneError(`failed to get selected CSINode ${node}: csinode.storage.k8s.io "${node}" not found`);
  const keys = topologyKeysOf(csiNode, input.driverName);
  if (keys.length > 0) input.cache.setTopologyKeys(input.claimUid, keys);
  return keys;
}

function selectedNodeTerm(input: AccessibilityInput, node: string, keys: readonly string[]): TopologyTerm {
  const cachedLabels = input.cache.get(input.claimUid)?.nodeLabels;
  if (cachedLabels && Object.keys(cachedLabels).length > 0) {
    const term = termFromLabels(cachedLabels, keys);
    if (term) return term;
  }
  // Labels missing in the cache: the node may have been labelled since; read it again.
  const n = input.lookup.getNode(node);
  if (!n) throw new SelectedNodeGoneError(`selected node ${node} not found`);
  const labels = n.metadata?.labels ?? {};
  if (Object.keys(labels).length > 0) input.cache.setNodeLabels(input.claimUid, labels);
  const term = termFromLabels(labels, keys);
  if (!term) {
    throw new TopologyError(`topology labels from selected node ${goMap(labels)} does not match topology keys from CSINode [${keys.join(' ')}]`);
  }
  return term;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Cluster-wide aggregates of one lookup generation (see TopologyLookup.generation). */
interface ClusterAggregates {
  generation: number;
  /** Per driver: the topology keys of each CSINode that has some, in list order, and whether they are all alike. */
  keysByDriver: Map<string, { candidates: (readonly string[])[]; allAlike: boolean }>;
  /** Per key set: the sorted, unique terms of the Nodes that have all the keys. */
  termsByKeys: Map<string, readonly TopologyTerm[]>;
}

const aggregatesByLookup = new WeakMap<TopologyLookup, ClusterAggregates>();

function clusterAggregates(lookup: TopologyLookup): ClusterAggregates | undefined {
  const generation = lookup.generation?.();
  if (generation === undefined) return undefined;
  let a = aggregatesByLookup.get(lookup);
  if (!a || a.generation !== generation) {
    a = { generation, keysByDriver: new Map(), termsByKeys: new Map() };
    aggregatesByLookup.set(lookup, a);
  }
  return a;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** Keys of a random CSINode that has some for the driver (Go shuffles the CSINodes and takes the first). */
function randomNodeKeys(input: AccessibilityInput, random: () => number): readonly string[] {
  const aggregates = clusterAggregates(input.lookup);
  if (!aggregates) {
    for (const csiNode of shuffled(input.lookup.listCSINodes(), random)) {
      const k = topologyKeysOf(csiNode, input.driverName);
      if (k.length > 0) return k;
    }
    return [];
  }
  let byDriver = aggregates.keysByDriver.get(input.driverName);
  if (!byDriver) {
    const candidates: (readonly string[])[] = [];
    for (const csiNode of input.lookup.listCSINodes()) {
      const k = topologyKeysOf(csiNode, input.driverName);
      if (k.length > 0) candidates.push(k);
    }
    byDriver = { candidates, allAlike: candidates.every((k) => sameKeys(k, candidates[0]!)) };
    aggregates.keysByDriver.set(input.driverName, byDriver);
  }
  // The first of a shuffle is a uniform pick among them; all alike (the usual case): no pick needed.
  const { candidates, allAlike } = byDriver;
  const first = candidates[0];
  if (!first) return [];
  if (allAlike) return first;
  return candidates[Math.floor(random() * candidates.length)] ?? first;
}

/** The terms of all Nodes that have every key, sorted and without duplicates. */
function nodeTerms(lookup: TopologyLookup, keys: readonly string[]): readonly TopologyTerm[] {
  const aggregates = clusterAggregates(lookup);
  const id = keys.join('\u0000');
  const cached = aggregates?.termsByKeys.get(id);
  if (cached) return cached;
  const terms: TopologyTerm[] = [];
  for (const node of lookup.listNodes()) {
    const term = termFromLabels(node.metadata?.labels, keys);
    if (term && term.length > 0) terms.push(term);
  }
  // Only the sorted, unique list is ever used (accessibilityRequirements sorts it again).
  const unique = sortUniqueTerms(terms);
  aggregates?.termsByKeys.set(id, unique);
  return unique;
}

function aggregateTopologies(input: AccessibilityInput, selectedNode: string, selectedKeys: readonly string[]): TopologyTerm[] {
  const random = input.random ?? Math.random;
  let keys: readonly string[];
  if (!selectedNode) {
    keys = input.cache.get(input.claimUid)?.topologyKeys ?? [];
    if (keys.length === 0) {
      keys = randomNodeKeys(input, random);
      if (keys.length > 0) input.cache.setTopologyKeys(input.claimUid, keys);
    }
    if (keys.length === 0) return [];
  } else {
    keys = selectedKeys;
    if (keys.length === 0) throw new TopologyError(`no topology key found on CSINode ${selectedNode}`);
  }
  const cached = input.cache.get(input.claimUid)?.requisiteTerms;
  if (cached && cached.length > 0) return [...cached];
  const terms = nodeTerms(input.lookup, keys);
  if (terms.length === 0) throw new TopologyError(`topologyKeys [${keys.join(' ')}] were not found on any nodes`);
  input.cache.setRequisiteTerms(input.claimUid, terms);
  return [...terms];
}

/** FNV-1 (not 1a), 32 bit: what Go's hash/fnv New32 computes. */
const utf8 = new TextEncoder();

export function fnv1_32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of utf8.encode(text)) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ byte) >>> 0;
  }
  return h >>> 0;
}

/**
 * The in-tree StatefulSet heuristic: for `claim-sts-3` hash only `sts` and offset by 3, so the
 * replicas of one StatefulSet start at consecutive preferred topologies.
 */
export function claimNameHashAndIndex(claimName: string, random: () => number = Math.random): { hash: number; index: number } {
  if (claimName === '') return { hash: Math.floor(random() * 2 ** 32) >>> 0, index: 0 };
  let hashString = claimName;
  let index = 0;
  const lastDash = claimName.lastIndexOf('-');
  if (lastDash !== -1) {
    const idText = claimName.slice(lastDash + 1);
    if (/^\d+$/.test(idText) && Number(idText) <= 0xffffffff) {
      index = Number(idText);
      hashString = claimName.slice(0, lastDash);
      const dash = hashString.lastIndexOf('-');
      if (dash !== -1) hashString = hashString.slice(dash + 1);
    }
  }
  return { hash: fnv1_32(hashString), index };
}

function rotate<T>(items: readonly T[], i: number): T[] {
  return [...items.slice(i), ...items.slice(0, i)];
}

function toCsiTopology(terms: readonly TopologyTerm[]): CsiTopologyInput[] {
  return terms.filter((t) => t.length > 0).map((t) => ({ segments: termToSegments(t) }));
}

/**
 * The accessibility requirements, or undefined when none are to be sent. Throws
 * SelectedNodeGoneError (reschedule) or TopologyError (retry).
 */
export function accessibilityRequirements(input: AccessibilityInput): CsiTopologyRequirementInput | undefined {
  const selectedNode = input.selectedNode ?? '';
  const allowed = input.allowedTopologies ?? [];
  let selectedTopology: TopologyTerm = [];
  let topologyKeys: string[] = [];
  let requisite: TopologyTerm[] = [];

  if (selectedNode) {
    topologyKeys = selectedNodeKeys(input, selectedNode);
    if (topologyKeys.length === 0) throw new TopologyError(`no topology key found for node ${selectedNode}`);
    selectedTopology = selectedNodeTerm(input, selectedNode, topologyKeys);
    if (input.strictTopology) {
      if (allowed.length > 0) {
        const flat = flattenAllowedTopologies(allowed);
        if (!flat.some((t) => isSubset(t, selectedTopology))) {
          throw new TopologyError(
            `selected node '${JSON.stringify(selectedNode)}' topology '${formatTerm(selectedTopology)}' is not in allowed topologies: ${formatTerms(flat)}`,
          );
        }
      }
      requisite = [selectedTopology];
    }
  }

  if (requisite.length === 0) {
    if (allowed.length > 0) {
      requisite = flattenAllowedTopologies(allowed);
    } else {
      if (!selectedNode && !input.immediateTopology) return undefined;
      requisite = aggregateTopologies(input, selectedNode, topologyKeys);
      if (requisite.length === 0) throw new TopologyError('no available topology found');
    }
  }
  if (requisite.length === 0) return undefined;
  requisite = sortUniqueTerms(requisite);

  let preferred: TopologyTerm[];
  if (!selectedNode) {
    const { hash, index } = claimNameHashAndIndex(input.claimName, input.random);
    const i = ((hash + index) >>> 0) % requisite.length;
    preferred = rotate(requisite, i);
  } else if (input.strictTopology) {
    preferred = requisite;
  } else {
    const i = requisite.findIndex((t) => isSubset(t, selectedTopology));
    if (i < 0) {
      throw new TopologyError(`topology ${formatTerm(selectedTopology)} from selected node ${JSON.stringify(selectedNode)} is not in requisite: ${formatTerms(requisite)}`);
    }
    preferred = rotate(requisite, i);
  }
  return { requisite: toCsiTopology(requisite), preferred: toCsiTopology(preferred) };
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface VolumeNodeAffinity {
  required?: { nodeSelectorTerms: { matchExpressions?: NodeSelectorRequirement[]; matchFields?: NodeSelectorRequirement[] }[] };
}

/** One node selector term per accessible topology (segments → `key In [value]`); none → undefined. */
export function volumeNodeAffinity(accessible: readonly { segments?: Readonly<Record<string, string>> | null }[] | undefined): VolumeNodeAffinity | undefined {
  if (!accessible || accessible.length === 0) return undefined;
  const terms = accessible
    .filter((t) => t.segments && Object.keys(t.segments).length > 0)
    .map((t) => ({
      matchExpressions: Object.keys(t.segments!)
        .sort()
        .map((key) => ({ key, operator: 'In', values: [t.segments![key]!] })),
    }));
  return { required: { nodeSelectorTerms: terms } };
}

function requirementMatches(r: NodeSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const v = labels[r.key];
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return v !== undefined && values.includes(v);
    case 'NotIn':
      return v === undefined || !values.includes(v);
    case 'Exists':
      return v !== undefined;
    case 'DoesNotExist':
      return v === undefined;
    case 'Gt':
    case 'Lt': {
      if (v === undefined || values.length !== 1) return false;
      const a = Number.parseInt(v, 10);
      const b = Number.parseInt(values[0]!, 10);
      if (Number.isNaN(a) || Number.isNaN(b)) return false;
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/**
 * Whether a PV with this node affinity is reachable from a node with this topology (node mode:
 * only such PVs are ours to delete). No affinity or no node topology → accessible.
 */
export function volumeIsAccessible(affinity: VolumeNodeAffinity | undefined, nodeSegments: Readonly<Record<string, string>> | undefined): boolean {
  if (!nodeSegments || !affinity?.required) return true;
  return affinity.required.nodeSelectorTerms.some((term) => {
    const exprs = term.matchExpressions ?? [];
    // A term with field selectors cannot match a node known only by its labels.
    if (exprs.length === 0 || (term.matchFields ?? []).length > 0) return false;
    return exprs.every((r) => requirementMatches(r, nodeSegments));
  });
}
