// What csi-provisioner does with its parsed options. For now: the start-up checks that need the
// environment, then a clear "not wired yet" exit; the controllers are wired here later.

import type { RunContext } from '@csi-sidecars-ts/shared';
import type { ProvisionerOptions } from './flags.js';

/** Environment the options require, checked before connecting anywhere (the Go provisioner exits on these too). */
export function provisionerEnvironmentProblems(
  o: ProvisionerOptions,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const problems: string[] = [];
  if (o.nodeDeployment && !env.NODE_NAME) {
    problems.push('the NODE_NAME environment variable must be set when using --node-deployment');
  }
  if (o.enableCapacity) {
    if (!env.NAMESPACE) problems.push('--enable-capacity needs the NAMESPACE environment variable (namespace of the CSIStorageCapacity objects)');
    if (o.capacityOwnerrefLevel >= 0 && !env.POD_NAME) {
      problems.push('--enable-capacity with --capacity-ownerref-level >= 0 needs the POD_NAME environment variable (to find the owner)');
    }
  }
  return problems;
}

export async function runProvisioner(options: ProvisionerOptions, ctx: RunContext): Promise<number> {
  const problems = provisionerEnvironmentProblems(options, ctx.io.env);
  for (const p of problems) ctx.io.stderr(`csi-provisioner: ${p}\n`);
  if (problems.length > 0) return 1;
  if (options.volumeNamePrefix === '') {
    ctx.io.stderr('csi-provisioner: warning: --volume-name-prefix is empty; every provisioning will fail (deletion still works)\n');
  }
  ctx.io.stderr('csi-provisioner: not yet wired: options are valid, but the controllers are not connected yet\n');
  return 1;
}
