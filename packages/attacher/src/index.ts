// Public API of the csi-attacher package.
export const sidecarName = 'csi-attacher';

export { startAttacher, selectHandlerKind } from './sidecar.js';
export type { AttacherDeps, AttacherRunOptions, AttacherHandle, AttachHandlerKind } from './sidecar.js';
export {
  VA_NODE_ID_ANNOTATION,
  MIGRATED_TO_ANNOTATION,
  VA_QUEUE_NAME,
  PV_QUEUE_NAME,
  sanitizeDriverName,
  attacherFinalizer,
  attacherLeaseName,
} from './controller/names.js';
export { AttachController } from './controller/attach-controller.js';
export type { AttachControllerOptions, AttachControllerInformers } from './controller/attach-controller.js';
export { CsiAttachHandler } from './controller/csi-handler.js';
export type { CsiHandlerOptions } from './controller/csi-handler.js';
export { TrivialAttachHandler } from './controller/trivial-handler.js';
export type { AttachHandler, SyncResult } from './controller/handler.js';
export { VaLanes } from './controller/va-lanes.js';
export type { Lane } from './controller/va-lanes.js';
export { shouldEnqueueVaUpdate, shouldEnqueuePv, isMigrationRollback } from './controller/event-filters.js';
export { addFinalizerPatch, removeFinalizerPatch, vaAttachMetadataPatch } from './controller/patches.js';
export { volumeCapabilityOf, publishRequestOf, unpublishRequestOf } from './controller/publish-request.js';
export type { PublishCapabilities } from './controller/publish-request.js';
export { resolveNodeId, nodeIdFromCsiNode, NodeIdError } from './controller/node-id.js';
export { planReconcile } from './controller/reconcile-plan.js';
export {
  PENDING_OPERATIONS_METRIC,
  OLDEST_PENDING_METRIC,
  OPERATION_DURATION_METRIC,
  UNCERTAIN_ATTACHMENTS_METRIC,
  OLDEST_UNCERTAIN_METRIC,
} from './controller/attacher-metrics.js';
export { KubeAttacherApi } from './adapters/attacher-api.js';
export type { AttacherApi } from './adapters/attacher-api.js';
export { CsiAttacher } from './adapters/attacher-csi.js';
export type { AttacherCsi } from './adapters/attacher-csi.js';
export { createMigrationTranslator, MigrationError } from '@csi-sidecars-ts/shared';
export type { MigrationTranslator } from '@csi-sidecars-ts/shared';
