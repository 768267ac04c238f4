// What csi-attacher does with its parsed options: the shared sidecar start-up, then the attach
// controllers once this replica leads.
import { releaseLeaseOnExit, runSidecar, type RunContext } from '@csi-sidecars-ts/shared';
import { startAttacher } from '../sidecar.js';
import { ATTACHER_VERSION } from './command.js';
import type { AttacherOptions } from './flags.js';

export async function runAttacher(options: AttacherOptions, ctx: RunContext): Promise<number> {
  return runSidecar({
    // Log lines go where the command's output goes (the process's stderr in production).
    writeLog: (line) => ctx.io.stderr(`${line}\n`),
    exit: ctx.io.exit,
    kind: 'attacher',
    component: 'csi-attacher',
    version: ATTACHER_VERSION,
    // external-attacher records no events of its own; leader election events use this source.
    eventComponent: (driver) => `csi-attacher-${driver}`,
    controllerCapabilities: 'if-controller-service',
    options: { ...options, releaseLeaderElectionOnExit: releaseLeaseOnExit(options) },
    start: (ctx, signal) =>
      startAttacher(
        {
          kube: ctx.kube,
          informerFactory: ctx.informers,
          controller: ctx.csi.controller,
          driverName: ctx.driver.name,
          pluginCapabilities: ctx.driver.pluginCapabilities.services,
          controllerCapabilities: ctx.driver.controllerCapabilities,
          registry: ctx.registry,
          clock: ctx.clock,
          logger: ctx.logger,
          signal,
        },
        options,
      ),
  });
}
