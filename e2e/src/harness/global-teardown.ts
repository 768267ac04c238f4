// jest globalTeardown: stop every process of the control plane, whatever the tests did; then
// check that no secret value a spec planted (planted-secrets.ts) appears in any log of the run.
// A hit fails the run, naming the file and line; the logs are then kept for a look.
import { readFileSync, rmSync } from 'node:fs';
import { CLUSTER_INFO_ENV } from './cluster-env.js';
import type { ClusterInfo } from './control-plane.js';
import { checkRunLogs, secretsFoundMessage } from './secret-scan.js';

export default async function globalTeardown(): Promise<void> {
  const cp = globalThis.__csiControlPlane;
  globalThis.__csiControlPlane = undefined;
  const keep = process.env.CSI_E2E_KEEP === '1';
  // Stopped but kept until the logs are read.
  if (cp) await cp.stop({ keep: true });
  const workDir = workDirOfRun();
  if (!workDir) return;
  const { planted, files, hits } = checkRunLogs(workDir);
  if (cp && !keep && hits.length === 0) rmSync(workDir, { recursive: true, force: true });
  if (hits.length > 0) throw new Error(secretsFoundMessage(workDir, hits));
  process.stderr.write(`secret check: ${planted.length} planted value(s), ${files.length} log file(s), no value found\n`);
}

function workDirOfRun(): string | undefined {
  const file = process.env[CLUSTER_INFO_ENV];
  if (!file) return undefined;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo).workDir;
  } catch {
    return undefined;
  }
}
