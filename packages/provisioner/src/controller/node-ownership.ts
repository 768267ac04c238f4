// Node-deployment mode (--node-deployment): one provisioner per node, each provisioning only
// claims whose selected node is its own. Claims with Immediate binding have no selected node;
// the instances race for them: each waits a per-claim, jittered, exponentially growing delay
// (stopping early when another node took the claim), checks its free capacity, then tries to
// write its node name into volume.kubernetes.io/selected-node. A conflict means another node
// was faster, or the claim changed: start over.

import { ItemExponentialFailureRateLimiter, JitteredRateLimiter, isConflict } from '@csi-sidecars-ts/shared';
import type { Clock, ControllerClient, Logger, PersistentVolumeClaim, StorageClass } from '@csi-sidecars-ts/shared';
import type { ProvisionerApi } from '../adapters/kube-api.js';
import { volumeCapabilities } from './capabilities.js';
import type { ClaimOwnership } from './claim-controller.js';
import { ANN_SELECTED_NODE } from './constants.js';
import { fsTypeFromParameters, stripReservedParameters } from './parameters.js';
import type { CsiProvisioner } from './provisioner.js';
import { selectedNodeOf } from './claim-decision.js';
import { parseQuantity } from '@csi-sidecars-ts/shared';

export interface NodeOwnershipDeps {
  nodeName: string;
  immediateBinding: boolean;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The current claim by UID from the informer cache. */
  claim(uid: string): PersistentVolumeClaim | undefined;
  api: ProvisionerApi;
  csi: Pick<ControllerClient, 'getCapacity'>;
  provisioner: CsiProvisioner;
  clock: Clock;
  logger: Logger;
  random?: () => number;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class NodeClaimOwnership implements ClaimOwnership {
  readonly #deps: NodeOwnershipDeps;
  readonly #limiter: JitteredRateLimiter<string>;
  readonly #log: Logger;

  constructor(deps: NodeOwnershipDeps) {
    this.#deps = deps;
    this.#limiter = new JitteredRateLimiter(new ItemExponentialFailureRateLimiter<string>(deps.baseDelayMs, deps.maxDelayMs), deps.baseDelayMs, deps.random);
    this.#log = deps.logger.withName('node-ownership');
  }

  async owns(claim: PersistentVolumeClaim, sc: StorageClass, signal: AbortSignal): Promise<boolean> {
    const selected = selectedNodeOf(claim);
    if (selected === this.#deps.nodeName) return true;
    if (selected !== '') return false;
    if (sc.volumeBindingMode !== 'Immediate' || !this.#deps.immediateBinding) return false;
    try {
      await this.#becomeOwner(claim, sc, signal);
    } catch (err) {
      this.#log.v(2).info('Trying to become the owner of a claim failed, will try again', { claim: `${claim.metadata?.namespace}/${claim.metadata?.name}`, err: errorText(err) });
    }
    // Owner or not, the claim update (ours or another node's) brings it back through the queue.
    return false;
  }

  async #becomeOwner(claim: PersistentVolumeClaim, sc: StorageClass, signal: AbortSignal): Promise<void> {
    const uid = claim.metadata?.uid ?? '';
    for (;;) {
      const delay = this.#limiter.when(uid);
      const current = await this.#waitOrTaken(uid, delay, signal);
      if (!current) {
        this.#limiter.forget(uid);
        return;
      }
      if (!(await this.#hasCapacity(current, sc, signal))) return;
      const updated = structuredClone(current);
      updated.metadata = { ...updated.metadata, annotations: { ...updated.metadata?.annotations, [ANN_SELECTED_NODE]: this.#deps.nodeName } };
      try {
        await this.#deps.api.updateClaim(updated, signal);
      } catch (err) {
        if (isConflict(err)) continue;
        throw new Error(`selecting node ${JSON.stringify(this.#deps.nodeName)} for PVC failed: ${errorText(err)}`, { cause: err });
      }
      this.#limiter.forget(uid);
      this.#log.v(5).info('Became owner of claim', { claim: `${current.metadata?.namespace}/${current.metadata?.name}` });
      return;
    }
  }

  /** Sleeps `delayMs`, polling the cache; undefined when another node took the claim meanwhile. */
  async #waitOrTaken(uid: string, delayMs: number, signal: AbortSignal): Promise<PersistentVolumeClaim | undefined> {
    const poll = Math.max(this.#deps.baseDelayMs / 100, 10);
    const until = this.#deps.clock.now() + delayMs;
    for (;;) {
      const current = this.#deps.claim(uid);
      if (!current) throw new Error('PVC not found or replaced');
      const selected = selectedNodeOf(current);
      if (selected !== '' && selected !== this.#deps.nodeName) return undefined;
      const left = until - this.#deps.clock.now();
      if (left <= 0) return current;
      await this.#deps.clock.sleep(Math.min(poll, left), signal);
    }
  }

  /** GetCapacity for this node's topology against the requested size; errors let the attempt proceed. */
  async #hasCapacity(claim: PersistentVolumeClaim, sc: StorageClass, signal: AbortSignal): Promise<boolean> {
    try {
      const storage = claim.spec?.resources?.requests?.storage;
      const requested = storage === undefined ? 0n : parseQuantity(String(storage)).int64Value();
      if (requested === 0n) return true;
      const cfg = this.#deps.provisioner.config;
      const fsType = fsTypeFromParameters(sc.parameters, cfg.defaultFsType).fsType;
      const res = await this.#deps.csi.getCapacity(
        {
          parameters: stripReservedParameters(sc.parameters),
          volume_capabilities: volumeCapabilities(claim, fsType, sc.mountOptions, cfg.controllerCapabilities.has('SINGLE_NODE_MULTI_WRITER')),
          accessible_topology: cfg.node?.segments ? { segments: { ...cfg.node.segments } } : undefined,
        },
        // Go makes this call without a deadline; a hanging driver must not hold a worker forever.
        { timeoutMs: cfg.timeoutMs, signal },
      );
      return requested <= res.available_capacity;
    } catch (err) {
      this.#log.v(3).info('Proceeding with becoming owner although the capacity check failed', { err: errorText(err) });
      return true;
    }
  }
}
