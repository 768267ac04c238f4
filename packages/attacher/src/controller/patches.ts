// Bodies of every write the attacher makes. Finalizer changes are RFC 6902 JSON patches whose
// `test` ops make them conditional on what we saw, so a stale cache can neither re-add a
// finalizer another controller removed nor add ours twice (external-provisioner #1217); the VA
// metadata patch carries our cached resourceVersion for the same reason. Status changes are
// merge patches on the status subresource that set every field they own explicitly.

import type { JsonPatchOp, VolumeAttachment } from '@csi-sidecars-ts/shared';
import { JsonPatchBuilder, jsonPointer } from '@csi-sidecars-ts/shared';
import { VA_NODE_ID_ANNOTATION } from './names.js';

/**
 * Adds `finalizer` to a finalizer list known to be `existing` (undefined: the field is absent).
 * Fails on the server (422) when the list changed since; the caller re-reads and retries.
 */
export function addFinalizerPatch(existing: readonly string[] | undefined, finalizer: string): JsonPatchOp[] {
  const b = new JsonPatchBuilder();
  if (existing === undefined) return b.test('/metadata/finalizers', null).add('/metadata/finalizers', [finalizer]).build();
  if (existing.length === 0) return b.test('/metadata/finalizers', []).replace('/metadata/finalizers', [finalizer]).build();
  return b.test('/metadata/finalizers', existing).add('/metadata/finalizers/-', finalizer).build();
}

/**
 * Removes `finalizer` at the index it has in `existing`, after testing it is still there.
 * Undefined when the list does not contain it.
 */
export function removeFinalizerPatch(existing: readonly string[] | undefined, finalizer: string): JsonPatchOp[] | undefined {
  const i = existing?.indexOf(finalizer) ?? -1;
  if (i < 0) return undefined;
  const path = jsonPointer('metadata', 'finalizers', i);
  return new JsonPatchBuilder().test(path, finalizer).remove(path).build();
}

/**
 * One merge patch adding our finalizer and setting the node-id annotation, conditional on the
 * VA's resourceVersion; undefined when both are already in place.
 */
export function vaAttachMetadataPatch(va: VolumeAttachment, finalizer: string, nodeId: string): Record<string, unknown> | undefined {
  const finalizers = va.metadata?.finalizers ?? [];
  const needFinalizer = !finalizers.includes(finalizer);
  const needAnnotation = va.metadata?.annotations?.[VA_NODE_ID_ANNOTATION] !== nodeId;
  if (!needFinalizer && !needAnnotation) return undefined;
  const metadata: Record<string, unknown> = {};
  const rv = va.metadata?.resourceVersion;
  if (rv) metadata.resourceVersion = rv;
  if (needFinalizer) metadata.finalizers = [...finalizers, finalizer];
  if (needAnnotation) metadata.annotations = { [VA_NODE_ID_ANNOTATION]: nodeId };
  return { metadata };
}

/** Status after a successful ControllerPublish. */
export function attachedStatusPatch(publishContext: Record<string, string> | undefined): Record<string, unknown> {
  const metadata = publishContext && Object.keys(publishContext).length > 0 ? { ...publishContext } : null;
  return { status: { attached: true, attachmentMetadata: metadata, attachError: null } };
}

/** Status after a successful ControllerUnpublish (and the finalizer's removal). */
export function detachedStatusPatch(): Record<string, unknown> {
  return { status: { attached: false, detachError: null, attachmentMetadata: null } };
}

/**
 * The API server refuses a VolumeError message over 1024 bytes (its error text claims 262144).
 * A driver that echoes a long volume ID would otherwise keep the error off the VA for good — the
 * Go attacher's failure mode: retried forever, nothing for the user to see. Cut on a character
 * boundary and say how long the whole message was.
 */
export const MAX_VOLUME_ERROR_MESSAGE_BYTES = 1024;

export function volumeErrorMessage(message: string): string {
  const bytes = Buffer.byteLength(message, 'utf8');
  if (bytes <= MAX_VOLUME_ERROR_MESSAGE_BYTES) return message;
  const suffix = `... (${bytes} bytes, cut)`;
  let cut = Buffer.from(message, 'utf8').subarray(0, MAX_VOLUME_ERROR_MESSAGE_BYTES - Buffer.byteLength(suffix)).toString('utf8');
  // A multi-byte character split at the cut decodes to U+FFFD: drop it.
  cut = cut.replace(/\uFFFD+$/, '');
  return `${cut}${suffix}`;
}

/** A failed attach: time, message and, for a gRPC error, its numeric code (null clears an old one). */
export function attachErrorPatch(time: string, message: string, errorCode: number | undefined): Record<string, unknown> {
  return { status: { attachError: { time, message: volumeErrorMessage(message), errorCode: errorCode ?? null } } };
}

/** A failed detach: time and message (the API has no use for a code here, Go sends none). */
export function detachErrorPatch(time: string, message: string): Record<string, unknown> {
  return { status: { detachError: { time, message: volumeErrorMessage(message) } } };
}

/** metav1.Time as the API server writes it: RFC 3339 in UTC, whole seconds. */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
