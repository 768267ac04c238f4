// The bench's view of the e2e harness's local control plane: started with the audit log on, plus
// the operations the scenarios share (pausing kube-controller-manager for set-up, emptying the
// cluster between runs, waiting until the other controllers have gone quiet).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane, DRIVER_NAME, type ClusterInfo } from '@csi-sidecars-ts/e2e/dist/harness/control-plane.js';
import { AuditTail, auditFlags } from './audit.js';
import { Backend } from './backend.js';
import { ApiClient, ApiError, mapLimit, type KubeObject } from './kube/api.js';
import { BENCH_LABEL, KEEP_SET, paths, storageClass } from './kube/objects.js';

export const BENCH_USER_AGENT = 'csi-sidecars-bench/0.1.0';
export const SC_IMMEDIATE = 'bench-immediate';
export const SC_WFFC = 'bench-wffc';
/** Requests the bench keeps in flight while creating or deleting objects. */
export const BENCH_CONCURRENCY = 32;

export interface BenchClusterOptions {
  nodes: number;
  keep: boolean;
  log: (line: string) => void;
}

export class BenchCluster {
  /** Namespaces purge() deleted that may still be on their way out. */
  readonly #deletedNamespaces: string[] = [];

  private constructor(
    readonly cp: ControlPlane,
    readonly info: ClusterInfo,
    readonly api: ApiClient,
    readonly audit: AuditTail,
    readonly backend: Backend,
    readonly auditDir: string,
    private readonly keep: boolean,
  ) {}

  get driver(): string {
    return DRIVER_NAME;
  }

  static async start(opts: BenchClusterOptions): Promise<BenchCluster> {
    const auditDir = mkdtempSync(join(tmpdir(), 'csi-sidecars-bench-audit-'));
    const { flags, logPath } = auditFlags(auditDir);
    const cp = new ControlPlane({ nodes: opts.nodes, keep: opts.keep, apiserverArgs: flags, log: opts.log });
    const info = await cp.start();
    const api = new ApiClient({ server: info.apiServerUrl, token: info.token, userAgent: BENCH_USER_AGENT });
    const audit = new AuditTail(logPath, [BENCH_USER_AGENT]);
    audit.start();
    const backend = new Backend(info.csiEndpoint);
    await backend.connect();
    const cluster = new BenchCluster(cp, info, api, audit, backend, auditDir, opts.keep);
    for (const sc of [storageClass(SC_IMMEDIATE, DRIVER_NAME, 'Immediate'), storageClass(SC_WFFC, DRIVER_NAME, 'WaitForFirstConsumer')]) {
      await api.create(paths.storageClasses, sc);
    }
    return cluster;
  }

  async stop(): Promise<void> {
    this.audit.stop();
    this.backend.dispose();
    this.api.dispose();
    await this.cp.stop();
    if (!this.keep) rmSync(this.auditDir, { recursive: true, force: true });
  }

  /**
   * Runs fn with kube-controller-manager stopped (SIGSTOP). Set-up writes consistent, already bound
   * objects this way; with KCM running its PV binder would race the set-up, and anything it did
   * itself would go at its own client limit (QPS 20).
   */
  async withControllerManagerPaused<T>(fn: () => Promise<T>): Promise<T> {
    const kcm = this.cp.processes.find((p) => p.name === 'kube-controller-manager');
    if (!kcm) throw new Error('kube-controller-manager is not among the control plane processes');
    kcm.signal('SIGSTOP');
    try {
      return await fn();
    } finally {
      kcm.signal('SIGCONT');
    }
  }

  /** Restarts the CSI plugin (its volumes are in memory: the backend is empty afterwards). */
  async restartPlugin(): Promise<void> {
    this.backend.dispose();
    await this.cp.restartPlugin();
    await this.backend.connect();
  }

  async createNamespace(ns: string): Promise<void> {
    await this.api.create(paths.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { [BENCH_LABEL]: 'run' } } });
  }

  async #forceDelete(path: string, query = ''): Promise<void> {
    // Delete first: a terminating object gets no new finalizers (the PV protection controller
    // would put its own back on a live PV), then drop the finalizers so it goes at once.
    await this.api.remove(path, query);
    try {
      await this.api.mergePatch(path, { metadata: { finalizers: null } });
    } catch (err) {
      if (!(err instanceof ApiError && (err.status === 404 || err.status === 409))) throw err;
    }
  }

  /**
   * Removes what a run left: its namespace's pods and claims, every VolumeAttachment and every PV
   * not in the kept idle data set; waits until they are gone.
   */
  async purge(ns: string | undefined): Promise<void> {
    const api = this.api;
    const names = (items: KubeObject[]) => items.map((o) => o.metadata?.name ?? '').filter(Boolean);
    if (ns) {
      const pods = names((await api.listAll(paths.pods(ns))).items);
      await mapLimit(pods, BENCH_CONCURRENCY, (n) => api.remove(paths.pod(ns, n), '?gracePeriodSeconds=0'));
    }
    const vas = names((await api.listAll(paths.attachments)).items);
    await mapLimit(vas, BENCH_CONCURRENCY, (n) => this.#forceDelete(paths.attachment(n)));
    if (ns) {
      const claims = names((await api.listAll(paths.claims(ns))).items);
      await mapLimit(claims, BENCH_CONCURRENCY, (n) => this.#forceDelete(paths.claim(ns, n)));
    }
    const notKept = `&labelSelector=${encodeURIComponent(`${BENCH_LABEL}!=${KEEP_SET}`)}`;
    const pvs = names((await api.listAll(paths.volumes, notKept)).items);
    await mapLimit(pvs, BENCH_CONCURRENCY, (n) => this.#forceDelete(paths.volume(n)));
    if (ns) await api.remove(paths.namespace(ns));
    const deadline = Date.now() + 120_000;
    for (;;) {
      const left = (await api.listAll(paths.volumes, notKept)).items.length + (await api.listAll(paths.attachments)).items.length;
      if (left === 0) break;
      if (Date.now() > deadline) throw new Error(`purge: ${left} PVs/VolumeAttachments still present after 120 s`);
      // A controller may have written one back in between: go again.
      for (const n of names((await api.listAll(paths.volumes, notKept)).items)) await this.#forceDelete(paths.volume(n));
      for (const n of names((await api.listAll(paths.attachments)).items)) await this.#forceDelete(paths.attachment(n));
      await new Promise((r) => setTimeout(r, 250));
    }
    if (ns) this.#deletedNamespaces.push(ns);
  }

  /**
   * Waits (at most timeoutMs) until the namespaces of earlier runs are gone. The namespace
   * controller (in kube-controller-manager) empties and removes a deleted namespace mostly with
   * reads, throttled by its own client: waitQuiet, which watches writes, does not see that work,
   * and a run started meanwhile would share the machine with it. Called after the next run's
   * preparation, so the two overlap.
   */
  async waitDeletedNamespacesGone(timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#deletedNamespaces.length > 0) {
      const ns = this.#deletedNamespaces[0]!;
      if (!(await this.#waitGone(paths.namespace(ns), deadline - Date.now()))) return false;
      this.#deletedNamespaces.shift();
    }
    return true;
  }

  async #waitGone(path: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        await this.api.get(path);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return true;
        throw err;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  }

  /**
   * Waits until no client but the bench has written to the API for quietMs (KCM and the
   * scheduler catching up on the previous run), so that a run does not pay for the one before.
   */
  async waitQuiet(quietMs = 1500, timeoutMs = 90_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (Date.now() - this.audit.lastForeignWrite >= quietMs) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }
}
