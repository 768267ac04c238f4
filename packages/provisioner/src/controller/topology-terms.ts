// Topology terms: a set of (key, value) segments, kept sorted so that terms can be compared,
// deduplicated and tested for "is a subset of" cheaply.

export type TopologySegment = readonly [key: string, value: string];
export type TopologyTerm = readonly TopologySegment[];

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortTerm(term: TopologyTerm): TopologyTerm {
  return [...term].sort((a, b) => cmpStr(a[0], b[0]) || cmpStr(a[1], b[1]));
}

/** Shorter terms first, then segment by segment. */
export function compareTerms(a: TopologyTerm, b: TopologyTerm): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const r = cmpStr(a[i]![0], b[i]![0]) || cmpStr(a[i]![1], b[i]![1]);
    if (r !== 0) return r;
  }
  return 0;
}

export function termsEqual(a: TopologyTerm, b: TopologyTerm): boolean {
  return compareTerms(a, b) === 0;
}

/** Every segment of `sub` is in `sup` (both sorted). The empty term is a subset of anything. */
export function isSubset(sub: TopologyTerm, sup: TopologyTerm): boolean {
  if (sub.length === 0) return true;
  let j = 0;
  for (const [k, v] of sup) {
    const want = sub[j]!;
    if (want[0] !== k) continue;
    if (want[1] !== v) return false;
    j++;
    if (j === sub.length) return true;
  }
  return false;
}

/** Sorted and without duplicates. */
export function sortUniqueTerms(terms: readonly TopologyTerm[]): TopologyTerm[] {
  const sorted = [...terms].sort(compareTerms);
  return sorted.filter((t, i) => i === 0 || !termsEqual(t, sorted[i - 1]!));
}

/** The term for `keys` from a label map; undefined when a key is missing. */
export function termFromLabels(labels: Readonly<Record<string, string>> | undefined, keys: readonly string[]): TopologyTerm | undefined {
  const term: TopologySegment[] = [];
  for (const k of keys) {
    const v = labels?.[k];
    if (v === undefined) return undefined;
    term.push([k, v]);
  }
  return sortTerm(term);
}

export function termToSegments(term: TopologyTerm): Record<string, string> {
  return Object.fromEntries(term);
}

export function segmentsToTerm(segments: Readonly<Record<string, string>>): TopologyTerm {
  return sortTerm(Object.entries(segments));
}

/** Go-style rendering for error messages: [{k v} {k2 v2}]. */
export function formatTerm(term: TopologyTerm): string {
  return `[${term.map(([k, v]) => `{${k} ${v}}`).join(' ')}]`;
}

export function formatTerms(terms: readonly TopologyTerm[]): string {
  return `[${terms.map(formatTerm).join(' ')}]`;
}

/**
 * allowedTopologies → terms: each selector term is the cartesian product of its expressions'
 * value lists (OR of ANDs of ORs, flattened).
 */
export function flattenAllowedTopologies(
  allowed: readonly { matchLabelExpressions?: readonly { key: string; values: readonly string[] }[] }[] | undefined,
): TopologyTerm[] {
  const out: TopologyTerm[] = [];
  for (const selector of allowed ?? []) {
    let terms: TopologySegment[][] = [];
    for (const expr of selector.matchLabelExpressions ?? []) {
      const next: TopologySegment[][] = [];
      for (const v of expr.values) {
        if (terms.length === 0) next.push([[expr.key, v]]);
        else for (const t of terms) next.push([...t, [expr.key, v]]);
      }
      terms = next;
    }
    out.push(...terms.map(sortTerm));
  }
  return out;
}
