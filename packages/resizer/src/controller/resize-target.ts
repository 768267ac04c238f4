// Which size to ask the driver for, with RecoverVolumeExpansionFailure (the default path).
//
// The inputs are the user's request (spec), what the resize machinery last committed to
// (status.allocatedResources), its state (status.allocatedResourceStatuses) and the PV size.
// The rules protect two things: an operation whose outcome is unknown (a timed-out controller
// call, a node expansion kubelet is still doing) is never re-targeted, and after a failure the
// controller knows is final the user may lower the request and the next attempt uses it.

import type { Quantity } from '@csi-sidecars-ts/shared';
import { ResizeStatus } from '../constants.js';

export interface ResizeTargetInput {
  /** spec.resources.requests.storage */
  spec: Quantity;
  /** PV spec.capacity.storage */
  pv: Quantity;
  /** status.allocatedResources.storage, if set */
  allocated: Quantity | undefined;
  /** status.allocatedResourceStatuses.storage ('' when unset) */
  status: string;
  /** The last ControllerExpandVolume for this claim, in this process, ended with a final error. */
  lastAttemptFinal: boolean;
  /** The driver expands in the control plane (false for the node-only "trivial" resizer). */
  controllerExpansion: boolean;
  /** A FileSystemResizePending=True condition is present. */
  fsResizePending: boolean;
  /** The claim failed as infeasible recently (slow set). */
  inSlowSet: boolean;
}

export type ResizeTargetDecision =
  /** Nothing to do now (kubelet's turn, or nothing left to expand). */
  | { kind: 'none'; reason: string }
  /** Same infeasible target as before: retry only after the slow-retry period. */
  | { kind: 'delay'; reason: string }
  /**
   * Expand to `target`. `statusUnchanged`: allocatedResources already equals the target, so the
   * resize status is left as it is and the old resize conditions are kept.
   */
  | { kind: 'expand'; target: Quantity; statusUnchanged: boolean };

export function chooseResizeTarget(input: ResizeTargetInput): ResizeTargetDecision {
  const { spec, pv, allocated, status } = input;
  let target = spec;

  if (pv.cmp(spec) < 0) {
    switch (status) {
      case ResizeStatus.NodeResizeInfeasible:
        if (allocated) target = allocated;
        break;
      case ResizeStatus.NodeResizePending:
      case ResizeStatus.NodeResizeInProgress:
        // kubelet owns the operation; only finish what was committed.
        if (allocated) target = allocated;
        if (pv.cmp(target) >= 0) return { kind: 'none', reason: `node expansion to ${target.toString()} is ${status}` };
        break;
      case ResizeStatus.ControllerResizeInProgress:
        // After a final error the driver is known to have stopped: the (possibly lowered)
        // request may be used. Otherwise an uncertain call must be finished with the same size.
        if (!input.lastAttemptFinal && allocated) target = allocated;
        break;
      default:
        target = spec;
    }
  } else {
    switch (status) {
      case ResizeStatus.NodeResizePending:
      case ResizeStatus.NodeResizeInProgress:
        return { kind: 'none', reason: `volume already has the requested size; node expansion is ${status}` };
      case ResizeStatus.NodeResizeInfeasible:
        target = input.controllerExpansion && allocated ? allocated : spec;
        break;
      case ResizeStatus.ControllerResizeInProgress:
      case ResizeStatus.ControllerResizeInfeasible:
        if (allocated) target = allocated;
        break;
      default:
        if (status === '' && allocated) {
          target = allocated;
        } else {
          // An apiserver that does not keep allocatedResources (before Kubernetes 1.32).
          if (input.fsResizePending) return { kind: 'none', reason: 'file system resize is pending on the node' };
          target = spec;
        }
    }
  }

  const statusUnchanged = allocated !== undefined && allocated.cmp(target) === 0;
  if (statusUnchanged && input.inSlowSet) {
    return { kind: 'delay', reason: `expansion to ${target.toString()} failed as infeasible before` };
  }
  return { kind: 'expand', target, statusUnchanged };
}
