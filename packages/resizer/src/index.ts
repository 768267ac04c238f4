export const sidecarName = 'csi-resizer';

export {
  startResizer,
  planResizerSidecar,
  csiDepsFromConnection,
  type ResizerSidecar,
  type ResizerSidecarDeps,
  type ResizerSidecarOptions,
} from './sidecar.js';
export { planResizer, resolveVolumeAttributesClassGate, volumeAttributesClassV1Served, StartupError, type ResizerPlan, type ResizerKind, type DriverCapabilities } from './startup.js';
export { ResizeController, type ResizeControllerDeps, type ResizeControllerOptions } from './controller/resize-controller.js';
export { ModifyController, type ModifyControllerDeps, type ModifyControllerOptions } from './controller/modify-controller.js';
export { PodClaimIndex, claimsUsedBy, NON_TERMINATED_PODS } from './controller/pod-claim-index.js';
export { chooseResizeTarget, type ResizeTargetInput, type ResizeTargetDecision } from './controller/resize-target.js';
export { KubeResizerApi, type ResizerApi, type ClaimMutation, type ClaimStatusWriteOptions } from './api/resizer-api.js';
export { CsiResizer, NodeOnlyResizer, type VolumeResizer, type ExpandResult, type CsiResizerOptions } from './resizer/volume-resizer.js';
export { CsiModifier, type VolumeModifier } from './resizer/volume-modifier.js';
export { InfeasibleResizeError, classifyFailure, type FailureClass } from './resizer/errors.js';
export * from './constants.js';
