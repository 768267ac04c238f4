// jest globalSetup for the integration suite: one control plane for the whole run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlane } from './control-plane.js';
import { CLUSTER_INFO_ENV } from './cluster-env.js';

declare global {
  // eslint-disable-next-line no-var
  var __csiControlPlane: ControlPlane | undefined;
}

export default async function globalSetup(): Promise<void> {
  const cp = new ControlPlane({ nodes: 3, keep: process.env.CSI_E2E_KEEP === '1' });
  globalThis.__csiControlPlane = cp;
  // If jest is interrupted, teardown may not run: stop the processes on the way out.
  const onSignal = (sig: NodeJS.Signals) => {
    void cp.stop().finally(() => process.kill(process.pid, sig));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const info = await cp.start();
  const file = join(info.workDir, 'cluster-info.json');
  writeFileSync(file, JSON.stringify(info, null, 2));
  process.env[CLUSTER_INFO_ENV] = file;
}
