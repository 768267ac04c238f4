// The harness itself: the control plane behaves like a cluster (nodes Ready, pods scheduled,
// volume controllers running), and stopping it leaves no process or folder behind.
import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { clusterInfo, clusterKube } from '../src/harness/cluster-env.js';
import { DRIVER_NAME } from '../src/harness/control-plane.js';
import { isAlive } from '../src/harness/managed-process.js';
import { repoRoot } from '../src/harness/paths.js';
import { waitFor } from '../src/harness/wait.js';

describe('local control plane', () => {
  it('has Ready nodes with the CSI node information kubelet would have registered', async () => {
    const kube = clusterKube();
    const { nodeNames } = clusterInfo();
    expect(nodeNames).toHaveLength(3);
    for (const name of nodeNames) {
      const node = await kube.core.readNode({ name });
      expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(node.metadata?.annotations?.['volumes.kubernetes.io/controller-managed-attach-detach']).toBe('true');
      const csiNode = await kube.storage.readCSINode({ name });
      expect(csiNode.spec.drivers.map((d) => d.name)).toContain(DRIVER_NAME);
    }
    const driver = await kube.storage.readCSIDriver({ name: DRIVER_NAME });
    expect(driver.spec.attachRequired).toBe(true);
  });

  it('schedules a pod onto a fake node with the real scheduler', async () => {
    const kube = clusterKube();
    const namespace = 'default';
    const name = `sched-${Date.now()}`;
    await kube.core.createNamespacedPod({
      namespace,
      body: { metadata: { name }, spec: { containers: [{ name: 'c', image: 'none' }] } },
    });
    try {
      const nodeName = await waitFor('pod scheduled', async () => (await kube.core.readNamespacedPod({ name, namespace })).spec?.nodeName);
      expect(clusterInfo().nodeNames).toContain(nodeName);
    } finally {
      await kube.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
    }
  });

  it('serves the VolumeSnapshot CRDs', async () => {
    const kube = clusterKube();
    const crd = await kube.apiext.readCustomResourceDefinition({ name: 'volumesnapshots.snapshot.storage.k8s.io' });
    expect(crd.spec.versions.map((v) => v.name)).toContain('v1');
  });

  it('`npm run cluster` prints KUBECONFIG and CSI_ENDPOINT, and leaves nothing behind on SIGINT', async () => {
    const cli = spawn(process.execPath, [join(repoRoot, 'e2e/dist/harness/cluster-cli.js'), '--nodes', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => cli.on('exit', (code) => r(code)));
    try {
      await waitFor('CLI ready lines', () => /CSI_ENDPOINT=unix:\/\/\S+/.test(stdout), { timeoutMs: 120_000 });
    } catch (err) {
      cli.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${stderr}`);
    }
    const kubeconfig = /^KUBECONFIG=(.+)$/m.exec(stdout)![1]!;
    const workDir = join(kubeconfig, '..');
    expect(existsSync(kubeconfig)).toBe(true);
    const pids = [...stderr.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    cli.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(workDir)).toBe(false);
    // Every process the CLI started is gone.
    expect(pids.length).toBeGreaterThanOrEqual(5);
    expect(pids.filter(isAlive)).toEqual([]);
  });
});
