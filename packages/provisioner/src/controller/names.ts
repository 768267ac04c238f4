// Volume names and the provisioner identity. The name is deterministic in the claim UID: it is
// both the PV name and CreateVolumeRequest.name, which makes CreateVolume idempotent across
// retries and restarts.

/** A PVC UID without dashes has 32 characters. */
export const MAX_UUID_LENGTH = 32;

export class VolumeNameError extends Error {
  override readonly name = 'VolumeNameError';
}

/**
 * `<prefix>-<uid>` (uuidLength -1) or `<prefix>-<first uuidLength chars of the dash-less uid>`.
 * Go panics on a length above 32; we refuse it with an error naming the flag.
 */
export function makeVolumeName(prefix: string, claimUid: string | undefined, uuidLength: number): string {
  if (prefix.length === 0) throw new VolumeNameError('volume name prefix cannot be of length 0 (--volume-name-prefix)');
  if (!claimUid) throw new VolumeNameError('corrupted PVC object, it is missing UID');
  if (uuidLength === -1) return `${prefix}-${claimUid}`;
  if (!Number.isInteger(uuidLength) || uuidLength < 0 || uuidLength > MAX_UUID_LENGTH) {
    throw new VolumeNameError(`--volume-name-uuid-length must be -1 or between 0 and ${MAX_UUID_LENGTH}, got ${uuidLength}`);
  }
  const compact = claimUid.replaceAll('-', '');
  if (compact.length < uuidLength) {
    throw new VolumeNameError(`PVC UID ${claimUid} is shorter than --volume-name-uuid-length ${uuidLength}`);
  }
  return `${prefix}-${compact.slice(0, uuidLength)}`;
}

/**
 * `<unix-ms>-<random 0..9999>-<driver>` (+ `-<node>` in node mode): stored in every PV's
 * volumeAttributes so a driver can tell which provisioner instance created a volume.
 */
export function provisionerIdentity(nowMs: number, driverName: string, nodeName?: string, random: () => number = Math.random): string {
  const id = `${Math.floor(nowMs)}-${Math.floor(random() * 10000) % 10000}-${driverName}`;
  return nodeName ? `${id}-${nodeName}` : id;
}
