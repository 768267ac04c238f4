// How integration specs reach the control plane that jest's global set-up started: the set-up
// writes ClusterInfo to a file and names it in an environment variable every worker inherits.
import { readFileSync } from 'node:fs';
import type { ClusterInfo } from './control-plane.js';
import { Kube } from './kube.js';

export const CLUSTER_INFO_ENV = 'CSI_SIDECARS_E2E_CLUSTER';

export function clusterInfo(): ClusterInfo {
  const file = process.env[CLUSTER_INFO_ENV];
  if (!file) throw new Error(`${CLUSTER_INFO_ENV} is not set: run integration specs through \`npm test\` (jest.integration.config.js starts the control plane)`);
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
}

let kube: Kube | undefined;
export function clusterKube(): Kube {
  kube ??= new Kube(clusterInfo().kubeconfig);
  return kube;
}
