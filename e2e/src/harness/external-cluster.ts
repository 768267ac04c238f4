// An existing cluster (e.g. kind, see e2e/kind) instead of the local control plane: the portable
// specs (e2e/specs/portable) run against it with the sidecars the user deployed there.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterInfo } from './control-plane.js';
import { Kube } from './kube.js';

export const EXTERNAL_KUBECONFIG_ENV = 'CSI_E2E_EXTERNAL_KUBECONFIG';
export const EXTERNAL_DRIVER_ENV = 'CSI_E2E_DRIVER_NAME';

export async function externalClusterInfo(env: NodeJS.ProcessEnv = process.env): Promise<ClusterInfo | undefined> {
  const kubeconfig = env[EXTERNAL_KUBECONFIG_ENV];
  if (!kubeconfig) return undefined;
  const driverName = env[EXTERNAL_DRIVER_ENV];
  if (!driverName) throw new Error(`${EXTERNAL_DRIVER_ENV} must name the CSI driver deployed in the cluster (e.g. hostpath.csi.k8s.io)`);
  const kube = new Kube(kubeconfig);
  const nodes = await kube.core.listNode();
  const workDir = mkdtempSync(join(tmpdir(), 'csi-sidecars-external-'));
  return {
    mode: 'external',
    workDir,
    kubeconfig,
    csiEndpoint: '',
    csiSocket: '',
    apiServerUrl: kube.kc.getCurrentCluster()?.server ?? '',
    etcdUrl: '',
    token: '',
    driverName,
    nodeNames: nodes.items.map((n) => n.metadata!.name!),
    components: undefined as never,
  };
}
