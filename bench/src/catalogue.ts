// What the bench can run: scenarios, API-limit profiles, default sizes and the targets the
// results are reported against (never asserted). Pure data, shared by the CLI and the report.

export type SidecarName = 'provisioner' | 'attacher' | 'resizer';
export type Impl = 'ours' | 'go';
export const IMPLS: readonly Impl[] = ['ours', 'go'];

export type ProfileId = 'go-defaults' | 'lifted';

export interface Profile {
  id: ProfileId;
  title: string;
  qps: number;
  burst: number;
}

export const PROFILES: Readonly<Record<ProfileId, Profile>> = {
  'go-defaults': { id: 'go-defaults', title: 'Go default limits (QPS 5, burst 10)', qps: 5, burst: 10 },
  lifted: { id: 'lifted', title: 'limits lifted (QPS 1000, burst 2000)', qps: 1000, burst: 2000 },
};

export const SCENARIO_IDS = [
  'provision',
  'provision-wffc',
  'delete',
  'expand',
  'attach-detach',
  'detach-under-attach-flood',
  'idle-provisioner',
  'idle-attacher',
  'idle-resizer',
] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

/** Names that select several scenarios at once. */
export const SCENARIO_GROUPS: Readonly<Record<string, readonly ScenarioId[]>> = {
  idle: ['idle-provisioner', 'idle-attacher', 'idle-resizer'],
  attach: ['attach-detach', 'detach-under-attach-flood'],
  provisioner: ['provision', 'provision-wffc', 'delete', 'idle-provisioner'],
  attacher: ['attach-detach', 'detach-under-attach-flood', 'idle-attacher'],
  resizer: ['expand', 'idle-resizer'],
};

export interface ScenarioInfo {
  id: ScenarioId;
  sidecar: SidecarName;
  title: string;
  /** Objects at --scale 1, per profile. At QPS 5 every object costs the sidecar ~0.5 s of API budget, so those sizes are smaller. */
  size: Readonly<Record<ProfileId, number>>;
}

const IDLE_PAIRS = 5000; // 5k PVC + 5k PV = 10k objects, i.e. the "per 5k volumes" target

export const SCENARIOS: Readonly<Record<ScenarioId, ScenarioInfo>> = {
  provision: { id: 'provision', sidecar: 'provisioner', title: 'burst of PVCs, Immediate binding, until each has its PV', size: { 'go-defaults': 40, lifted: 1000 } },
  'provision-wffc': {
    id: 'provision-wffc',
    sidecar: 'provisioner',
    title: 'burst of PVCs + pods, WaitForFirstConsumer, until each has its PV',
    // kube-scheduler writes the selected-node annotations at its own limit (QPS 50, ~25 pods/s
    // here): above a few hundred claims the run only measures the scheduler.
    size: { 'go-defaults': 40, lifted: 300 },
  },
  delete: { id: 'delete', sidecar: 'provisioner', title: 'bound PVCs deleted, until their PVs are gone and the backend is empty', size: { 'go-defaults': 40, lifted: 1000 } },
  expand: { id: 'expand', sidecar: 'resizer', title: 'bound PVCs expanded 1Gi → 2Gi, until status.capacity shows it', size: { 'go-defaults': 20, lifted: 500 } },
  'attach-detach': {
    id: 'attach-detach',
    sidecar: 'attacher',
    title: 'VolumeAttachments created until attached, then deleted until gone',
    size: { 'go-defaults': 40, lifted: 1000 },
  },
  'detach-under-attach-flood': {
    id: 'detach-under-attach-flood',
    sidecar: 'attacher',
    title: 'detaches (N/5) issued during a flood of N attaches',
    size: { 'go-defaults': 40, lifted: 1000 },
  },
  'idle-provisioner': { id: 'idle-provisioner', sidecar: 'provisioner', title: 'idle after syncing 10k PVC+PV objects', size: { 'go-defaults': IDLE_PAIRS, lifted: IDLE_PAIRS } },
  'idle-attacher': { id: 'idle-attacher', sidecar: 'attacher', title: 'idle after syncing 10k PVC+PV objects', size: { 'go-defaults': IDLE_PAIRS, lifted: IDLE_PAIRS } },
  'idle-resizer': { id: 'idle-resizer', sidecar: 'resizer', title: 'idle after syncing 10k PVC+PV objects', size: { 'go-defaults': IDLE_PAIRS, lifted: IDLE_PAIRS } },
};

/** The smallest size of any scaled run: a handful of objects, so percentiles mean something. */
export const MIN_SIZE = 4;

/**
 * The size of a scenario at a scale. At the Go default limits a run keeps at least twice the burst
 * (20 objects; fewer only if the full size is smaller), or the QPS limit would never be reached and
 * the run would measure nothing but start-up.
 */
export function scaledSize(info: ScenarioInfo, profile: ProfileId, scale: number): number {
  const full = info.size[profile];
  const floor = profile === 'go-defaults' ? Math.min(full, 2 * PROFILES['go-defaults'].burst) : MIN_SIZE;
  return Math.max(floor, MIN_SIZE, Math.round(full * scale));
}

/** Plain PV creation with no client limit: what the API server can take, for context. */
export const CEILING_SIZE = 1000;

export interface Target {
  scenario: ScenarioId;
  /** Undefined: every profile. */
  profile?: ProfileId;
  figure: string;
  op: '>=' | '<=';
  ratio: number;
  text: string;
}

// The targets of the bench issue: time to converge ≤ 0.8× Go on every throughput scenario at
// equal limits (both profiles give both sides the same limits), memory ≤ 0.5× Go with 10k objects,
// and detach latency under an attach flood (the attacher starvation of external-attacher #761).
const TIME = 'ours/Go time to converge ≤ 0.8 at equal limits';
export const TARGETS: readonly Target[] = [
  { scenario: 'provision', figure: 'converge_s', op: '<=', ratio: 0.8, text: TIME },
  { scenario: 'provision-wffc', figure: 'converge_s', op: '<=', ratio: 0.8, text: TIME },
  { scenario: 'delete', figure: 'converge_s', op: '<=', ratio: 0.8, text: TIME },
  { scenario: 'expand', figure: 'converge_s', op: '<=', ratio: 0.8, text: TIME },
  { scenario: 'attach-detach', figure: 'attach_converge_s', op: '<=', ratio: 0.8, text: TIME },
  { scenario: 'attach-detach', figure: 'detach_converge_s', op: '<=', ratio: 0.8, text: TIME },
  { scenario: 'detach-under-attach-flood', figure: 'detach_converge_s', op: '<=', ratio: 0.8, text: TIME },
  { scenario: 'idle-provisioner', figure: 'rss_steady_mib', op: '<=', ratio: 0.5, text: '≤ 50% of Go memory with 10k objects' },
  { scenario: 'idle-attacher', figure: 'rss_steady_mib', op: '<=', ratio: 0.5, text: '≤ 50% of Go memory with 10k objects' },
  { scenario: 'idle-resizer', figure: 'rss_steady_mib', op: '<=', ratio: 0.5, text: '≤ 50% of Go memory with 10k objects' },
  { scenario: 'detach-under-attach-flood', figure: 'detach_p95_ms', op: '<=', ratio: 0.2, text: 'detach p95 under an attach flood ≤ Go / 5' },
];

/** With limits lifted, ours should reach this share of the plain-client ceiling (objects/s). */
export const CEILING_SHARE_TARGET = 0.7;
