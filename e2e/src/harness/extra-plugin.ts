// A second (third, …) CSI plugin beside the cluster's own, for specs that need the plugin
// configured differently (offline-only expansion, no attach, node expansion required): the same
// real mock plugin binary under its own driver name and socket, registered as kubelet and
// node-driver-registrar would (a CSIDriver object and an entry in every node's CSINode).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1CSINode } from '@kubernetes/client-node';
import type { ClusterInfo } from './control-plane.js';
import { TOPOLOGY_KEY } from './control-plane.js';
import type { Kube } from './kube.js';
import { ManagedProcess } from './managed-process.js';
import { waitFor } from './wait.js';

export interface ExtraPluginOptions {
  /** Also the node ID the plugin accepts (the mock plugin's rule). */
  driverName: string;
  /** Flags of hack/go/csi-mock-plugin, e.g. ['--disable-online-expansion']. */
  args?: string[];
  /** CSIDriver spec fields (attachRequired defaults to true). */
  csiDriverSpec?: Record<string, unknown>;
}

export interface ExtraPlugin {
  readonly driverName: string;
  readonly socket: string;
  readonly endpoint: string;
  /** The current plugin process (a new one after restart()). */
  readonly process: ManagedProcess;
  /**
   * Kills the plugin (SIGKILL: no graceful stop, as a crash would) and starts it again on the
   * same socket. Its volumes are in memory: they are all gone afterwards.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startExtraPlugin(info: ClusterInfo, kube: Kube, opts: ExtraPluginOptions): Promise<ExtraPlugin> {
  const dir = mkdtempSync(join(tmpdir(), 'csi-extra-plugin-'));
  const socket = join(dir, 'csi.sock');
  const endpoint = `unix://${socket}`;
  const launch = async (): Promise<ManagedProcess> => {
    const p = new ManagedProcess({
      name: `csi-plugin-${opts.driverName}`,
      command: info.components.csiPlugin,
      args: [`--endpoint=${endpoint}`, `--drivername=${opts.driverName}`, '--enable-topology', ...(opts.args ?? [])],
      logFile: join(info.workDir, 'logs', `csi-plugin-${opts.driverName}.log`),
    });
    await waitFor(`plugin ${opts.driverName} socket`, () => {
      if (!p.running) throw new Error(`plugin exited:\n${p.tail(10)}`);
      try {
        return statSync(socket).isSocket();
      } catch {
        return false;
      }
    });
    return p;
  };
  let proc = await launch();
  await registerDriver(info, kube, opts.driverName, opts.csiDriverSpec);
  return {
    driverName: opts.driverName,
    socket,
    endpoint,
    get process() {
      return proc;
    },
    async restart() {
      proc.killNow();
      await proc.exited;
      // A killed plugin leaves its socket file behind: remove it so the wait below sees the new one.
      rmSync(socket, { force: true });
      proc = await launch();
    },
    async stop() {
      await proc.stop();
      await unregisterDriver(info, kube, opts.driverName);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Registers a driver as kubelet and node-driver-registrar would: a CSIDriver object and an entry
 * in every node's CSINode (node ID = driver name, the cluster's topology key). Use it for a
 * fake plugin (packages/shared/src/csi/testing/fake-plugin.ts) that a spec serves itself.
 */
export async function registerDriver(
  info: ClusterInfo,
  kube: Kube,
  driverName: string,
  csiDriverSpec: Record<string, unknown> = {},
  /** The CSINode entry per node; default: node ID = driver name, the cluster's topology key. */
  csiNodeEntry: (nodeName: string) => CsiNodeEntry = () => ({ nodeID: driverName, topologyKeys: [TOPOLOGY_KEY] }),
): Promise<void> {
  await kube.ensureCsiDriver(driverName, csiDriverSpec);
  for (const nodeName of info.nodeNames) await addDriverToCsiNode(kube, nodeName, driverName, csiNodeEntry(nodeName));
}

/** What node-driver-registrar would report for a driver on one node. */
export interface CsiNodeEntry {
  nodeID: string;
  topologyKeys: string[];
}

export async function unregisterDriver(info: ClusterInfo, kube: Kube, driverName: string): Promise<void> {
  for (const nodeName of info.nodeNames) await removeDriverFromCsiNode(kube, nodeName, driverName).catch(() => undefined);
  await kube.storage.deleteCSIDriver({ name: driverName }).catch(() => undefined);
}

async function addDriverToCsiNode(kube: Kube, nodeName: string, driverName: string, entry: CsiNodeEntry): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const csiNode: V1CSINode = await kube.storage.readCSINode({ name: nodeName });
    if (csiNode.spec.drivers.some((d) => d.name === driverName)) return;
    csiNode.spec.drivers.push({ name: driverName, nodeID: entry.nodeID, topologyKeys: entry.topologyKeys, allocatable: { count: 100 } });
    try {
      await kube.storage.replaceCSINode({ name: nodeName, body: csiNode });
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

async function removeDriverFromCsiNode(kube: Kube, nodeName: string, driverName: string): Promise<void> {
  const csiNode: V1CSINode = await kube.storage.readCSINode({ name: nodeName });
  const drivers = csiNode.spec.drivers.filter((d) => d.name !== driverName);
  if (drivers.length === csiNode.spec.drivers.length) return;
  csiNode.spec.drivers = drivers;
  await kube.storage.replaceCSINode({ name: nodeName, body: csiNode });
}
