// Starts the project's own sidecars from the current build (packages/*/dist) against a running
// control plane, as managed processes owned by the harness.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from './managed-process.js';
import type { ControlPlane } from './control-plane.js';
import { repoRoot } from './paths.js';

export const SIDECARS = ['provisioner', 'attacher', 'resizer'] as const;
export type SidecarName = (typeof SIDECARS)[number];

export function sidecarBin(name: SidecarName): string {
  return join(repoRoot, 'packages', name, 'dist', 'cmd', `csi-${name}.js`);
}

export interface StartSidecarOptions {
  extraArgs?: string[];
  verbosity?: number;
}

export function startSidecar(cp: ControlPlane, name: SidecarName, opts: StartSidecarOptions = {}): ManagedProcess {
  const bin = sidecarBin(name);
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first`);
  const info = cp.info;
  return new ManagedProcess({
    name: `csi-${name}`,
    // The same Node that runs the harness (Node 24 from the project's devDependency).
    command: process.execPath,
    args: [
      bin,
      `--kubeconfig=${info.kubeconfig}`,
      `--csi-address=${info.csiSocket}`,
      '--leader-election=false',
      `--v=${opts.verbosity ?? 2}`,
      ...(opts.extraArgs ?? []),
    ],
    logFile: join(info.workDir, 'logs', `csi-${name}.log`),
  });
}

export async function startSidecars(cp: ControlPlane, names: readonly SidecarName[] = SIDECARS): Promise<ManagedProcess[]> {
  const procs = names.map((n) => startSidecar(cp, n));
  cp.adopt(...procs);
  // Give them a moment to fail fast on bad flags, and say so clearly if one did.
  await new Promise((r) => setTimeout(r, 1500));
  for (const p of procs) {
    if (!p.running) throw new Error(`${p.name} exited at start-up:\n${p.tail(20)}`);
  }
  return procs;
}
