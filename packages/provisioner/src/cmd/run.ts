// What csi-provisioner does with its parsed options: the start-up checks that need the
// environment, then the shared sidecar start-up and the provisioning controllers once leading.

import { leaseNamespace, releaseLeaseOnExit, runSidecar, toDisposable, type RunContext } from '@csi-sidecars-ts/shared';
import { startProvisioner } from '../sidecar.js';
import { PROVISIONER_VERSION } from './command.js';
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
  const env = ctx.io.env;
  const problems = provisionerEnvironmentProblems(options, env);
  for (const p of problems) ctx.io.stderr(`csi-provisioner: ${p}\n`);
  if (problems.length > 0) return 1;
  if (options.volumeNamePrefix === '') {
    ctx.io.stderr('csi-provisioner: warning: --volume-name-prefix is empty; every provisioning will fail (deletion still works)\n');
  }
  return runSidecar({
    // Log lines go where the command's output goes (the process's stderr in production).
    writeLog: (line) => ctx.io.stderr(`${line}\n`),
    exit: ctx.io.exit,
    kind: 'provisioner',
    component: 'csi-provisioner',
    version: PROVISIONER_VERSION,
    // The provisioner's controllers record events with their own source (see sidecar.ts).
    eventComponent: (driver, identity) => `${driver}_${identity}`,
    controllerCapabilities: 'always',
    options: { ...options, releaseLeaderElectionOnExit: releaseLeaseOnExit(options) },
    env,
    start: async (sidecar, signal) => {
      // CSIStorageCapacity writes get their own rate limit, as in Go.
      const capacityKube = options.enableCapacity
        ? sidecar.kubeFactory.create({ qps: options.kubeApiCapacityQps, burst: options.kubeApiCapacityBurst, userAgent: sidecar.userAgent, clock: sidecar.clock, logger: sidecar.logger })
        : undefined;
      const provisioner = await startProvisioner(
        {
          kube: sidecar.kube,
          informers: sidecar.informers,
          csi: {
            controller: sidecar.csi.controller,
            node: sidecar.csi.node,
            driverName: sidecar.driver.name,
            pluginCapabilities: sidecar.driver.pluginCapabilities.services,
            controllerCapabilities: sidecar.driver.controllerCapabilities,
          },
          registry: sidecar.registry,
          clock: sidecar.clock,
          logger: sidecar.logger,
          signal,
          ...(capacityKube ? { capacityKube } : {}),
        },
        {
          ...options,
          nodeName: env.NODE_NAME,
          namespace: env.NAMESPACE,
          podName: env.POD_NAME,
          // The journal lives where the leader-election Lease does (same flag, env and file).
          journalNamespace: leaseNamespace({ flag: options.leaderElectionNamespace, env }),
        },
      );
      return toDisposable(async () => {
        await provisioner.dispose();
        await capacityKube?.dispose();
      });
    },
  });
}
