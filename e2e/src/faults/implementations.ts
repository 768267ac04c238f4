// The two implementations a chaos scenario runs against: ours (packages/*/dist) and the real Go
// sidecar (external-provisioner v6.3.0, external-attacher v4.12.0, external-resizer v2.2.0, built
// from their modules by hack/build-go-components.sh into the build cache). Both get the same
// command line. When the Go toolchain or a Go build is missing, the Go side is reported as not
// run instead of failing the suite.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterInfo } from '../harness/control-plane.js';
import { ManagedProcess } from '../harness/managed-process.js';
import { repoRoot } from '../harness/paths.js';
import { sidecarBin, sidecarNodeFlags, type SidecarName } from '../harness/sidecars.js';
import { waitFor } from '../harness/wait.js';

export type Impl = 'ours' | 'go';
/** Both by default; CSI_CHAOS_IMPLS=ours (or go) runs one side only. */
export const IMPLS: readonly Impl[] = (() => {
  const wanted = (process.env.CSI_CHAOS_IMPLS ?? 'ours,go').split(',').map((s) => s.trim());
  const list = (['ours', 'go'] as const).filter((i) => wanted.includes(i));
  return list.length > 0 ? list : ['ours', 'go'];
})();

/**
 * For the rows added last (4, 6 slow, 8–12, 14): ours only in the short set (`npm test`), both
 * with CSI_CHAOS_EXTENDED=1 (`npm run chaos`), where the Go outcome is recorded. Keeps the
 * integration run short; the Go side is a recording, never a check.
 */
export const LATE_ROW_IMPLS: readonly Impl[] = process.env.CSI_CHAOS_EXTENDED === '1' ? IMPLS : IMPLS.filter((i) => i === 'ours');

const GO_COMPONENT: Record<SidecarName, string> = { provisioner: 'go-provisioner', attacher: 'go-attacher', resizer: 'go-resizer' };
export const GO_VERSIONS: Record<SidecarName, string> = {
  provisioner: 'external-provisioner v6.3.0',
  attacher: 'external-attacher v4.12.0',
  resizer: 'external-resizer v2.2.0',
};

let goBins: Promise<{ bins: Partial<Record<SidecarName, string>>; problem?: string }> | undefined;

/** The Go sidecar binaries (built on first use, then cached by the build script). */
export function goSidecars(): Promise<{ bins: Partial<Record<SidecarName, string>>; problem?: string }> {
  goBins ??= new Promise((resolve) => {
    const child = spawn('bash', [join(repoRoot, 'hack/build-go-components.sh'), ...Object.values(GO_COMPONENT)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => resolve({ bins: {}, problem: `cannot run hack/build-go-components.sh: ${e.message}` }));
    child.on('exit', (code) => {
      const bins: Partial<Record<SidecarName, string>> = {};
      for (const line of out.split('\n')) {
        const [k, dir] = line.split('=');
        for (const [name, comp] of Object.entries(GO_COMPONENT)) {
          const bin = dir ? join(dir, `csi-${name}`) : '';
          if (k === comp && existsSync(bin)) bins[name as SidecarName] = bin;
        }
      }
      const problem = code === 127 ? 'no Go toolchain' : code !== 0 ? `Go build failed (exit ${code}): ${err.split('\n').slice(-3).join(' ')}` : undefined;
      resolve(problem ? { bins, problem } : { bins });
    });
  });
  return goBins;
}

/** Why `impl` cannot run `name` here, or undefined when it can. */
export async function unavailable(impl: Impl, name: SidecarName): Promise<string | undefined> {
  if (impl === 'ours') return undefined;
  const { bins, problem } = await goSidecars();
  return bins[name] ? undefined : (problem ?? `csi-${name} (Go) was not built`);
}

export interface LaunchOptions {
  csiAddress: string;
  extraArgs?: string[];
  /** Log file name under <workDir>/logs. */
  logName: string;
  /**
   * Run in a UTS namespace of its own with this host name: leader-election identities are host
   * names (in Go and in ours), so two replicas on one machine need two names.
   */
  hostname?: string;
  /** Another kubeconfig (e.g. through the API fault proxy, or a restricted identity). */
  kubeconfig?: string;
  /**
   * Node flags for ours after the bin's own (e.g. the V8 heap limit Node would pick under a
   * container memory limit, row 13); ignored for Go.
   */
  nodeFlags?: string[];
}

let unshareWorks: boolean | undefined;

/** Whether `unshare -u` (a private host name) is allowed here. */
export function privateHostnames(): boolean {
  if (unshareWorks === undefined) {
    const r = spawnSync('unshare', ['-u', 'sh', '-c', 'hostname chaos-probe'], { stdio: 'ignore' });
    unshareWorks = r.status === 0;
  }
  return unshareWorks;
}

/** Starts one sidecar of `impl` with the base flags (kubeconfig, CSI address, -v=4) plus `extraArgs`. */
export async function launch(info: ClusterInfo, impl: Impl, name: SidecarName, opts: LaunchOptions): Promise<ManagedProcess> {
  let command: string;
  let args: string[];
  if (impl === 'ours') {
    command = process.execPath;
    // The Node flags of the bin's first line, as the image's ENTRYPOINT runs it (docs/adr/0007).
    const bin = sidecarBin(name);
    args = [...sidecarNodeFlags(bin), ...(opts.nodeFlags ?? []), bin];
  } else {
    const bin = (await goSidecars()).bins[name];
    if (!bin) throw new Error(`Go csi-${name} is not available`);
    command = bin;
    args = [];
  }
  args.push(`--kubeconfig=${opts.kubeconfig ?? info.kubeconfig}`, `--csi-address=${opts.csiAddress}`, '--v=4', ...(opts.extraArgs ?? []));
  if (opts.hostname) {
    // exec keeps the pid: signals reach the sidecar itself.
    args = ['-u', 'sh', '-c', 'hostname "$0" && exec "$@"', opts.hostname, command, ...args];
    command = 'unshare';
  }
  return new ManagedProcess({ name: `${impl}-csi-${name}`, command, args, logFile: join(info.workDir, 'logs', opts.logName) });
}

/** Waits until the process exits; resolves with its exit code (-1 for a signal). */
export async function exitWithin(p: ManagedProcess, timeoutMs: number): Promise<number | null> {
  return waitFor(`${p.name} to exit`, async () => (p.running ? undefined : { code: await p.exited }), { timeoutMs, intervalMs: 50 }).then((r) => r.code);
}
