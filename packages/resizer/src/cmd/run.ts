// What csi-resizer does with its parsed options: the shared sidecar start-up; the resizer plan
// (which resizer, whether the modify controller runs) is decided before leader election so a
// driver that supports neither fails fast, as the Go resizer does.
import { releaseLeaseOnExit, runSidecar, type RunContext, type SidecarContext } from '@csi-sidecars-ts/shared';
import { planResizerSidecar, startResizer, type ResizerSidecarDeps } from '../sidecar.js';
import { RESIZER_VERSION } from './command.js';
import type { ResizerOptions } from './flags.js';

function deps(ctx: SidecarContext): ResizerSidecarDeps {
  return {
    kube: ctx.kube,
    informers: ctx.informers,
    csi: {
      driverName: ctx.driver.name,
      capabilities: { services: ctx.driver.pluginCapabilities.services, controller: ctx.driver.controllerCapabilities },
      controller: ctx.csi.controller,
      node: ctx.csi.node,
    },
    events: ctx.events,
    registry: ctx.registry,
    clock: ctx.clock,
    logger: ctx.logger,
  };
}

export async function runResizer(options: ResizerOptions, ctx: RunContext): Promise<number> {
  return runSidecar({
    // Log lines go where the command's output goes (the process's stderr in production).
    writeLog: (line) => ctx.io.stderr(`${line}\n`),
    exit: ctx.io.exit,
    kind: 'resizer',
    component: 'csi-resizer',
    version: RESIZER_VERSION,
    eventComponent: (driver) => `external-resizer ${driver}`,
    controllerCapabilities: 'if-controller-service',
    options: { ...options, releaseLeaderElectionOnExit: releaseLeaseOnExit(options) },
    prepare: (ctx) => planResizerSidecar(deps(ctx), options),
    start: (ctx, _signal, plan) => startResizer(deps(ctx), options, plan),
  });
}
