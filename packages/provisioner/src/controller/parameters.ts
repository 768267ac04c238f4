// StorageClass parameters → what CreateVolume gets: fsType, the parameters without the keys
// reserved for the sidecar, and the optional claim/PV metadata.

import { CSI_PARAMETER_PREFIX, PARAM_FSTYPE, PARAM_PV_NAME, PARAM_PVC_NAME, PARAM_PVC_NAMESPACE } from './constants.js';
import { ALL_SECRET_PARAMS } from './secrets.js';

export class ParameterError extends Error {
  override readonly name = 'ParameterError';
}

/** The `csi.storage.k8s.io/` keys the sidecar consumes; any other key with the prefix is refused. */
export const RESERVED_PARAMETER_KEYS: ReadonlySet<string> = new Set([
  PARAM_FSTYPE,
  ...ALL_SECRET_PARAMS.flatMap((s) => [s.nameKey, s.namespaceKey]),
]);

export interface FsTypeResult {
  fsType: string;
  /** The deprecated case-insensitive `fstype` key was used (worth a warning). */
  deprecatedKeyUsed: boolean;
}

/**
 * fsType from `csi.storage.k8s.io/fstype` or the deprecated `fstype` (any case); both present
 * is an error; neither → --default-fstype (may be '').
 */
export function fsTypeFromParameters(params: Readonly<Record<string, string>> | undefined, defaultFsType: string): FsTypeResult {
  let found = 0;
  let fsType = '';
  let deprecatedKeyUsed = false;
  for (const [k, v] of Object.entries(params ?? {})) {
    const deprecated = k.toLowerCase() === 'fstype';
    if (deprecated || k === PARAM_FSTYPE) {
      fsType = v;
      found++;
    }
    if (deprecated) deprecatedKeyUsed = true;
  }
  if (found > 1) throw new ParameterError(`fstype specified in parameters with both "fstype" and "${PARAM_FSTYPE}" keys`);
  return { fsType: fsType === '' ? defaultFsType : fsType, deprecatedKeyUsed };
}

/** Parameters minus the reserved keys; an unknown key in the reserved namespace is an error. */
export function stripReservedParameters(params: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params ?? {})) {
    if (k.startsWith(CSI_PARAMETER_PREFIX)) {
      if (!RESERVED_PARAMETER_KEYS.has(k)) {
        throw new ParameterError(`found unknown parameter key "${k}" with reserved namespace ${CSI_PARAMETER_PREFIX}`);
      }
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** --extra-create-metadata: added after stripping, so they do reach the driver. */
export function withExtraCreateMetadata(params: Record<string, string>, claimName: string, claimNamespace: string, pvName: string): Record<string, string> {
  return { ...params, [PARAM_PVC_NAME]: claimName, [PARAM_PVC_NAMESPACE]: claimNamespace, [PARAM_PV_NAME]: pvName };
}
