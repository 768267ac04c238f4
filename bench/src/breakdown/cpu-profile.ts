// Summary of a V8 .cpuprofile (what `node --cpu-prof` writes): self time per function and per
// module, optionally within a time window, so the report can say where our sidecar spent its CPU
// during the load. The profile's timestamps are CLOCK_MONOTONIC microseconds, the clock of
// process.hrtime() in any process on the machine, so the bench can cut out the workload window.

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** µs, CLOCK_MONOTONIC. */
  startTime: number;
  endTime: number;
  samples: number[];
  /** µs since the previous sample (the first: since startTime). */
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  selfMs: number;
  /** Of the busy (non-idle) time in the window, 0–1. */
  share: number;
}

export interface ProfileSummary {
  /** Sampled time in the window, idle included (ms). */
  windowMs: number;
  /** Time not idle (ms): JavaScript, GC, native. */
  busyMs: number;
  functions: SelfTime[];
  modules: SelfTime[];
}

export interface SummaryOptions {
  /** Window start and end, µs on the profile's clock; default: the whole profile. */
  fromUs?: number;
  toUs?: number;
  /** How many functions and modules to keep (default 8). */
  top?: number;
  /** The sampling interval (µs) each sample stands for; default: the profile's median time delta. */
  intervalUs?: number;
}

const IDLE = '(idle)';

/**
 * The module a frame belongs to: an npm package, one of our packages' folders
 * ("shared/kube"), a Node built-in ("node:internal"), or the V8 pseudo-frame's own name.
 */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url.startsWith('node:internal') ? 'node:internal' : url.split('/')[0]!;
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = path.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? path);
  }
  const ours = /\/packages\/([^/]+)\/(?:dist|src)\/(.+)$/.exec(path);
  if (ours) {
    const rest = ours[2]!.split('/');
    return rest.length > 1 ? `${ours[1]}/${rest[0]}` : ours[1]!;
  }
  return path.split('/').slice(-2).join('/');
}

/** "name (file:line)" with the file shortened to what tells it apart. */
export function functionLabel(frame: CpuProfileNode['callFrame']): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const path = frame.url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  const ours = path.indexOf('/packages/');
  const short = nm >= 0 ? path.slice(nm + '/node_modules/'.length) : ours >= 0 ? path.slice(ours + '/packages/'.length) : path;
  return `${name} (${short}:${frame.lineNumber + 1})`;
}

function topOf(totals: Map<string, number>, busyMs: number, top: number): SelfTime[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, top)
    .map(([name, ms]) => ({ name, selfMs: ms, share: busyMs > 0 ? ms / busyMs : 0 }));
}

/**
 * The profile's sampling interval (µs): the median gap between samples. Most gaps are the
 * interval; the long ones (the process was descheduled, or V8 could not sample) are outliers.
 */
export function samplingIntervalUs(profile: CpuProfile): number {
  const deltas = profile.timeDeltas.filter((d) => d > 0).sort((a, b) => a - b);
  return deltas[Math.floor(deltas.length / 2)] ?? 0;
}

/**
 * Self time per function and module: the samples taken inside the window, each worth one sampling
 * interval. Counting samples rather than summing the gaps between them (Chrome's way) keeps a gap
 * after a descheduled moment from being charged to whatever ran next.
 */
export function summarizeCpuProfile(profile: CpuProfile, opts: SummaryOptions = {}): ProfileSummary {
  const top = opts.top ?? 8;
  const from = opts.fromUs ?? -Infinity;
  const to = opts.toUs ?? Infinity;
  const byId = new Map<number, CpuProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const perFunction = new Map<string, number>();
  const perModule = new Map<string, number>();
  let windowMs = 0;
  let busyMs = 0;
  const ms = (opts.intervalUs ?? samplingIntervalUs(profile)) / 1000;
  let t = profile.startTime;
  const count = Math.min(profile.samples.length, profile.timeDeltas.length);
  for (let i = 0; i < count; i++) {
    t += profile.timeDeltas[i]!;
    if (t < from || t > to) continue;
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    windowMs += ms;
    const frame = node.callFrame;
    if (frame.functionName === IDLE) continue;
    busyMs += ms;
    const fn = functionLabel(frame);
    perFunction.set(fn, (perFunction.get(fn) ?? 0) + ms);
    const mod = moduleOf(frame.url, frame.functionName);
    perModule.set(mod, (perModule.get(mod) ?? 0) + ms);
  }
  return { windowMs, busyMs, functions: topOf(perFunction, busyMs, top), modules: topOf(perModule, busyMs, top) };
}

/** Adds summaries of several runs (self times summed, shares recomputed), keeping the top entries. */
export function mergeSummaries(summaries: readonly ProfileSummary[], top = 8): ProfileSummary | undefined {
  if (summaries.length === 0) return undefined;
  const fns = new Map<string, number>();
  const mods = new Map<string, number>();
  let windowMs = 0;
  let busyMs = 0;
  for (const s of summaries) {
    windowMs += s.windowMs;
    busyMs += s.busyMs;
    for (const f of s.functions) fns.set(f.name, (fns.get(f.name) ?? 0) + f.selfMs);
    for (const m of s.modules) mods.set(m.name, (mods.get(m.name) ?? 0) + m.selfMs);
  }
  return { windowMs, busyMs, functions: topOf(fns, busyMs, top), modules: topOf(mods, busyMs, top) };
}

/** Parses the JSON of a .cpuprofile file; throws naming what is missing. */
export function parseCpuProfile(text: string): CpuProfile {
  const p = JSON.parse(text) as Partial<CpuProfile>;
  if (!Array.isArray(p.nodes) || !Array.isArray(p.samples) || !Array.isArray(p.timeDeltas) || typeof p.startTime !== 'number' || typeof p.endTime !== 'number') {
    throw new Error('not a V8 CPU profile (nodes, samples, timeDeltas, startTime, endTime expected)');
  }
  return p as CpuProfile;
}

/** Now on the profile's clock (CLOCK_MONOTONIC, µs). */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
