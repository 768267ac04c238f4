// jest globalSetup for the integration suite: one control plane for the whole run, or, when
// CSI_E2E_EXTERNAL_KUBECONFIG is set, an existing cluster (kind) for the portable specs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlane } from './control-plane.js';
import { CLUSTER_INFO_ENV } from './cluster-env.js';
import { externalClusterInfo } from './external-cluster.js';

declare global {
  // eslint-disable-next-line no-var
  var __csiControlPlane: ControlPlane | undefined;
}

export default async function globalSetup(): Promise<void> {
  let info = await externalClusterInfo();
  if (!info) {
    const cp = new ControlPlane({ nodes: 3, keep: process.env.CSI_E2E_KEEP === '1' });
    globalThis.__csiControlPlane = cp;
    // If jest is interrupted, teardown may not run: stop the processes on the way out.
    const onSignal = (sig: NodeJS.Signals) => {
      void cp.stop().finally(() => process.kill(process.pid, sig));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    info = await cp.start();
  }
  mkdirSync(join(info.workDir, 'logs'), { recursive: true });
  const file = join(info.workDir, 'cluster-info.json');
  writeFileSync(file, JSON.stringify(info, null, 2));
  process.env[CLUSTER_INFO_ENV] = file;
}
