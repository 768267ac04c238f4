// The two implementations of each sidecar, started with one and the same command line: ours from
// packages/*/dist on the harness's Node, the real Go sidecar from the build cache.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from '@csi-sidecars-ts/e2e/dist/harness/managed-process.js';
import { repoRoot } from '@csi-sidecars-ts/e2e/dist/harness/paths.js';
import { sidecarBin, sidecarNodeFlags } from '@csi-sidecars-ts/e2e/dist/harness/sidecars.js';
import type { ClusterInfo } from '@csi-sidecars-ts/e2e/dist/harness/control-plane.js';
import type { Impl, Profile, SidecarName } from './catalogue.js';

export interface SidecarBinary {
  impl: Impl;
  name: SidecarName;
  command: string;
  /** Arguments before the shared flags (the script, for ours). */
  leadingArgs: string[];
  version: string;
  /** Set when this binary cannot run at all. */
  problem?: string;
}

export const GO_VERSIONS: Readonly<Record<SidecarName, string>> = {
  provisioner: 'external-provisioner v6.3.0',
  attacher: 'external-attacher v4.12.0',
  // v2.2.1 is the newest, but the module proxy reachable here refuses it (HTTP 403).
  resizer: 'external-resizer v2.2.0',
};

const GO_COMPONENT: Readonly<Record<SidecarName, string>> = { provisioner: 'go-provisioner', attacher: 'go-attacher', resizer: 'go-resizer' };

export function oursBinary(name: SidecarName): SidecarBinary {
  const script = sidecarBin(name);
  const flags = existsSync(script) ? sidecarNodeFlags(script) : [];
  const bin: SidecarBinary = { impl: 'ours', name, command: process.execPath, leadingArgs: [...flags, script], version: `csi-sidecars-ts csi-${name} v0.1.0 (Node ${process.versions.node})` };
  if (!existsSync(script)) bin.problem = `${script} is missing (run \`npm run build\`)`;
  return bin;
}

/** Builds (or finds in the cache) the Go sidecars through hack/build-go-components.sh. */
export async function goBinaries(wanted: readonly SidecarName[], log: (line: string) => void): Promise<Record<SidecarName, SidecarBinary>> {
  const dirs = new Map<string, string>();
  let failure: string | undefined;
  await new Promise<void>((resolve) => {
    const child = spawn('bash', [join(repoRoot, 'hack/build-go-components.sh'), ...wanted.map((n) => GO_COMPONENT[n])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      let nl: number;
      while ((nl = err.indexOf('\n')) >= 0) {
        log(err.slice(0, nl));
        err = err.slice(nl + 1);
      }
    });
    child.on('error', (e) => {
      failure = `could not run hack/build-go-components.sh: ${e.message}`;
      resolve();
    });
    child.on('exit', (code) => {
      if (code === 127) failure = 'the Go toolchain is missing (go 1.26+ is needed to build the Go sidecars)';
      else if (code !== 0) failure = `hack/build-go-components.sh failed with exit code ${code} (see the bench log)`;
      for (const line of out.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) dirs.set(line.slice(0, eq), line.slice(eq + 1));
      }
      resolve();
    });
  });
  const one = (name: SidecarName): SidecarBinary => {
    const dir = dirs.get(GO_COMPONENT[name]);
    const command = dir ? join(dir, `csi-${name}`) : '';
    const bin: SidecarBinary = { impl: 'go', name, command, leadingArgs: [], version: GO_VERSIONS[name] };
    if (!wanted.includes(name)) bin.problem = 'not needed by the chosen scenarios';
    else if (!dir) bin.problem = failure ?? `the build script did not report ${GO_COMPONENT[name]}`;
    else if (!existsSync(command)) bin.problem = `${command} is missing after the build`;
    return bin;
  };
  return { provisioner: one('provisioner'), attacher: one('attacher'), resizer: one('resizer') };
}

/** The flags both implementations get: the Go defaults spelled out, plus the profile's API limits. */
export function sharedFlags(name: SidecarName, profile: Profile, info: ClusterInfo, verbosity: number): string[] {
  const common = [
    `--kubeconfig=${info.kubeconfig}`,
    `--csi-address=${info.csiSocket}`,
    `--v=${verbosity}`,
    '--leader-election=false',
    `--kube-api-qps=${profile.qps}`,
    `--kube-api-burst=${profile.burst}`,
  ];
  switch (name) {
    case 'provisioner':
      return [...common, '--worker-threads=100', '--timeout=10s'];
    case 'attacher':
      return [...common, '--worker-threads=10', '--timeout=15s'];
    case 'resizer':
      return [...common, '--workers=10', '--timeout=10s'];
  }
}

export interface LaunchOptions {
  /** Ours only: write a V8 CPU profile to this file when the process exits. */
  cpuProfile?: { dir: string; name: string };
}

export function launchSidecar(bin: SidecarBinary, flags: readonly string[], logFile: string, opts: LaunchOptions = {}): ManagedProcess {
  if (bin.problem) throw new Error(`${bin.impl} csi-${bin.name} is not runnable: ${bin.problem}`);
  // Node's own flags go before the script.
  const nodeArgs = bin.impl === 'ours' && opts.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfile.dir}`, `--cpu-prof-name=${opts.cpuProfile.name}`] : [];
  return new ManagedProcess({ name: `${bin.impl}-csi-${bin.name}`, command: bin.command, args: [...nodeArgs, ...bin.leadingArgs, ...flags], logFile });
}

/** The User-Agent prefix both implementations' API requests start with (only one runs at a time). */
export function userAgentPrefix(name: SidecarName): string {
  return `csi-${name}/`;
}
