// Starts the project's own sidecars from the current build (packages/*/dist) against a running
// control plane, as managed processes: from `npm run cluster --with-sidecars`, the demo, and
// integration specs (which must stop them in afterAll).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from './managed-process.js';
import type { ClusterInfo, ControlPlane } from './control-plane.js';
import { repoRoot } from './paths.js';
import { waitFor } from './wait.js';

export const SIDECARS = ['provisioner', 'attacher', 'resizer'] as const;
export type SidecarName = (typeof SIDECARS)[number];

export function sidecarBin(name: SidecarName): string {
  return join(repoRoot, 'packages', name, 'dist', 'cmd', `csi-${name}.js`);
}

/**
 * The Node flags a sidecar runs with, from its bin's first line (`#!/usr/bin/env -S node <flags>`),
 * so the harness, the bench and the Dockerfile start it the way the bin says (docs/adr/0007).
 */
export function sidecarNodeFlags(bin: string): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env -S node((?:\s+--\S+)*)\s*$/.exec(first);
  return m ? m[1]!.trim().split(/\s+/).filter((f) => f !== '') : [];
}

export interface StartSidecarOptions {
  /** Flags after the defaults below (a later flag wins, as in Go). */
  extraArgs?: string[];
  verbosity?: number;
  /** Log file name under <workDir>/logs; defaults to csi-<name>.log. */
  logName?: string;
  /** Replaces the CSI endpoint (e.g. a fault-injecting proxy's socket). */
  csiAddress?: string;
  /** Added to the harness's environment (e.g. NODE_NAME, NAMESPACE, POD_NAME). */
  env?: Record<string, string>;
}

export function startSidecar(info: ClusterInfo, name: SidecarName, opts: StartSidecarOptions = {}): ManagedProcess {
  const bin = sidecarBin(name);
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first`);
  return new ManagedProcess({
    name: `csi-${name}`,
    // The same Node that runs the harness (Node 24 from the project's devDependency).
    command: process.execPath,
    args: [
      ...sidecarNodeFlags(bin),
      bin,
      `--kubeconfig=${info.kubeconfig}`,
      `--csi-address=${opts.csiAddress ?? info.csiSocket}`,
      `--v=${opts.verbosity ?? 4}`,
      ...(opts.extraArgs ?? []),
    ],
    logFile: join(info.workDir, 'logs', opts.logName ?? `csi-${name}.log`),
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  });
}

/** Starts a sidecar and fails with its log tail if it exits within the first moments. */
export async function startSidecarChecked(info: ClusterInfo, name: SidecarName, opts: StartSidecarOptions = {}): Promise<ManagedProcess> {
  const p = startSidecar(info, name, opts);
  try {
    await waitFor(`${p.name} to stay up`, () => !p.running || undefined, { timeoutMs: 1500, intervalMs: 100 });
  } catch {
    return p; // still running after the grace moment: good
  }
  throw new Error(`${p.name} exited at start-up:\n${p.tail(20)}`);
}

export async function startSidecars(cp: ControlPlane, names: readonly SidecarName[] = SIDECARS, opts: StartSidecarOptions = {}): Promise<ManagedProcess[]> {
  const procs: ManagedProcess[] = [];
  for (const n of names) {
    const p = await startSidecarChecked(cp.info, n, opts);
    cp.adopt(p);
    procs.push(p);
  }
  return procs;
}
