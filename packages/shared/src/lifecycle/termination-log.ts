// The container termination message: Kubernetes shows the file's content as the reason a
// container ended (`kubectl describe pod`), as the Go sidecars do for "Lost connection to CSI
// driver, exiting".

import { closeSync, constants, openSync, writeSync } from 'node:fs';

export const DEFAULT_TERMINATION_LOG = '/dev/termination-log';

/** The kubelet reads at most this many bytes of the message. */
const MAX_MESSAGE_BYTES = 4096;

/**
 * Writes msg to the termination log, synchronously (it is called just before exiting). Best
 * effort: returns false instead of throwing when the file cannot be written. The file is never
 * created: the kubelet provides it in a pod, and outside one there is nothing to report to.
 */
export function writeTerminationMessage(msg: string, path: string = DEFAULT_TERMINATION_LOG): boolean {
  let bytes = Buffer.from(msg, 'utf8');
  if (bytes.length > MAX_MESSAGE_BYTES) bytes = bytes.subarray(0, MAX_MESSAGE_BYTES);
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
    writeSync(fd, bytes);
    return true;
  } catch {
    // ENOENT (not in a pod), EACCES/EROFS (read-only root), anything else: nothing better to do.
    return false;
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Closing a file we just wrote cannot fail in a way worth reporting on the way out.
      }
    }
  }
}
