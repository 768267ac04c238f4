// Start-up decisions, made from the driver's capabilities and the cluster's API before any
// controller runs (§3.2): which resizer and whether a modifier, and whether the
// VolumeAttributesClass v1 API is served.

import { isNotFound } from '@csi-sidecars-ts/shared';
import type { ControllerCapabilityName, KubeRequester, Logger, NodeClient, PluginServiceCapabilityName } from '@csi-sidecars-ts/shared';

export type ResizerKind = 'controller' | 'node-only' | 'none';

export interface ResizerPlan {
  /** controller: ControllerExpandVolume; node-only: kubelet expands; none: no resize controller. */
  resizer: ResizerKind;
  /** The driver has controller MODIFY_VOLUME. */
  modifier: boolean;
  /** The modify controller runs: a modifier and the VolumeAttributesClass gate on. */
  modifyController: boolean;
  /** SINGLE_NODE_MULTI_WRITER, for the access mode in ControllerExpandVolume. */
  singleNodeMultiWriter: boolean;
}

/** A reason the sidecar cannot run with this driver; the process exits 1. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export interface DriverCapabilities {
  services: ReadonlySet<PluginServiceCapabilityName>;
  controller: ReadonlySet<ControllerCapabilityName>;
}

/**
 * The Go rules: no CONTROLLER_SERVICE is fatal (even for node-only drivers); controller
 * EXPAND_VOLUME → CSI resizer; else node EXPAND_VOLUME (asked with NodeGetCapabilities) → the
 * node-only resizer; else no resizer. MODIFY_VOLUME → modifier. Neither → fatal.
 */
export async function planResizer(
  caps: DriverCapabilities,
  node: Pick<NodeClient, 'nodeGetCapabilities'>,
  volumeAttributesClassEnabled: boolean,
  log: Logger,
): Promise<ResizerPlan> {
  if (!caps.services.has('CONTROLLER_SERVICE')) {
    throw new StartupError('Failed to create CSI resizer: CSI driver does not support controller service');
  }
  let resizer: ResizerKind = 'none';
  if (caps.controller.has('EXPAND_VOLUME')) {
    resizer = 'controller';
  } else {
    let nodeCaps;
    try {
      nodeCaps = await node.nodeGetCapabilities({});
    } catch (err) {
      throw new StartupError(`Failed to create CSI resizer: failed to check if plugin supports node resize: error getting node capabilities: ${(err as Error).message}`, { cause: err });
    }
    if (nodeCaps.capabilities.some((c) => c.rpc?.type === 'EXPAND_VOLUME')) {
      log.info('The CSI driver supports node resize only, using trivial resizer to handle resize requests');
      resizer = 'node-only';
    } else {
      log.info('Resize not supported', { message: 'CSI driver neither supports controller resize nor node resize' });
    }
  }
  const modifier = caps.controller.has('MODIFY_VOLUME');
  if (!modifier) log.info('Modify not supported', { message: 'CSI driver does not support controller modify' });
  if (resizer === 'none' && !modifier) throw new StartupError('CSI driver does not support resize nor modify');
  return {
    resizer,
    modifier,
    modifyController: modifier && volumeAttributesClassEnabled,
    singleNodeMultiWriter: caps.controller.has('SINGLE_NODE_MULTI_WRITER'),
  };
}

/**
 * Whether storage.k8s.io/v1 serves VolumeAttributesClass (Kubernetes 1.34+). undefined when
 * discovery failed: the caller keeps the gate as it was (as Go does) and logs why.
 */
export async function volumeAttributesClassV1Served(client: KubeRequester, log: Logger): Promise<boolean | undefined> {
  try {
    const list = await client.request<{ resources?: { kind?: string; name?: string }[] }>({ method: 'GET', path: '/apis/storage.k8s.io/v1' });
    return (list.resources ?? []).some((r) => r.kind === 'VolumeAttributesClass');
  } catch (err) {
    if (isNotFound(err)) return false;
    log.error('Failed to check VolumeAttributesClass V1 API availability', err);
    return undefined;
  }
}

/** The gate value the sidecar runs with: explicit setting wins; otherwise off when the API is not served. */
export async function resolveVolumeAttributesClassGate(
  gates: { enabled(name: string): boolean; isExplicitlySet(name: string): boolean },
  client: KubeRequester,
  log: Logger,
): Promise<boolean> {
  const enabled = gates.enabled('VolumeAttributesClass');
  if (gates.isExplicitlySet('VolumeAttributesClass')) return enabled;
  const served = await volumeAttributesClassV1Served(client, log);
  if (served === true) log.info('VolumeAttributesClass v1 API is available');
  if (served === false) {
    log.info('Disabling VolumeAttributesClass feature gate because the VolumeAttributesClass v1 API is not available');
    return false;
  }
  return enabled;
}

