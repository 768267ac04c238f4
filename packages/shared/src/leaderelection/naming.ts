// Lease name, holder identity and namespace, derived exactly as csi-lib-utils and the Go sidecars
// do, so a mixed Go/TS rollout contends for the same Lease.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export type SidecarName = 'provisioner' | 'attacher' | 'resizer';

export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Every character outside [a-zA-Z0-9-] becomes '-', and a trailing '-' gets an 'X' appended. */
export function sanitizeName(name: string): string {
  if (name === '') throw new Error('cannot derive a leader-election name from an empty string');
  const s = name.replace(/[^a-zA-Z0-9-]/g, '-');
  return s.endsWith('-') ? `${s}X` : s;
}

/**
 * The Lease each Go sidecar uses for `driverName`:
 *  - csi-provisioner: the driver name itself (`hostpath.csi.k8s.io` → `hostpath-csi-k8s-io`);
 *  - csi-attacher: `external-attacher-leader-<driver>`;
 *  - csi-resizer: `external-resizer-<driver>`.
 */
export function leaseNameFor(sidecar: SidecarName, driverName: string): string {
  if (driverName === '') throw new Error(`cannot name the ${sidecar} leader-election Lease: the CSI driver name is empty`);
  switch (sidecar) {
    case 'provisioner':
      return sanitizeName(driverName);
    case 'attacher':
      return sanitizeName(`external-attacher-leader-${driverName}`);
    case 'resizer':
      // The resizer sanitizes the driver name before prefixing, then the library sanitizes again.
      return sanitizeName(`external-resizer-${sanitizeName(driverName)}`);
  }
}

/** Holder identity: the host (pod) name plus an optional suffix, sanitized. */
export function leaderIdentity(opts: { hostname?: string; suffix?: string } = {}): string {
  return sanitizeName(`${opts.hostname ?? hostname()}${opts.suffix ?? ''}`);
}

export interface LeaseNamespaceSources {
  /** --leader-election-namespace */
  flag?: string;
  env?: Record<string, string | undefined>;
  /** Reads a file, or returns undefined when it cannot. */
  readFile?: (path: string) => string | undefined;
}

/** --leader-election-namespace, else $POD_NAMESPACE, else the service-account namespace file, else `default`. */
export function leaseNamespace(src: LeaseNamespaceSources = {}): string {
  if (src.flag) return src.flag;
  const env = src.env ?? process.env;
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  const read = src.readFile ?? readFileOrUndefined;
  const fromFile = read(SERVICE_ACCOUNT_NAMESPACE_FILE)?.trim();
  return fromFile ? fromFile : 'default';
}

function readFileOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
