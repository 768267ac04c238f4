// Nodes without a kubelet: created with the labels, annotation and CSINode a CSI node plugin
// and kubelet would have provided, marked Ready through the status subresource, and kept fresh
// by a heartbeat so they look alive to anything that checks.
import type { V1Node } from '@kubernetes/client-node';
import { mergePatch, statusCode, type Kube } from './kube.js';

export interface FakeNodeOptions {
  count: number;
  driverName: string;
  csiNodeId: string;
  /** Topology labels every node carries (and the CSINode advertises as topology keys). */
  topology: Record<string, string>;
  namePrefix?: string;
  heartbeatMs?: number;
}

export function nodeName(prefix: string, i: number): string {
  return `${prefix}${i + 1}`;
}

export class FakeNodes {
  #timer: NodeJS.Timeout | undefined;
  #names: string[] = [];

  constructor(
    private readonly kube: Kube,
    private readonly opts: FakeNodeOptions,
  ) {}

  async start(): Promise<string[]> {
    const prefix = this.opts.namePrefix ?? 'node-';
    for (let i = 0; i < this.opts.count; i++) {
      const name = nodeName(prefix, i);
      await this.createNode(name, i);
      this.#names.push(name);
    }
    await this.heartbeat();
    this.#timer = setInterval(() => void this.heartbeat().catch(() => undefined), this.opts.heartbeatMs ?? 20_000);
    this.#timer.unref();
    return [...this.#names];
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  private async createNode(name: string, index: number): Promise<void> {
    const node: V1Node = {
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'topology.kubernetes.io/zone': `zone-${(index % 3) + 1}`,
          ...this.opts.topology,
        },
        annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      },
      spec: {},
    };
    try {
      await this.kube.core.createNode({ body: node });
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
    }
    try {
      await this.kube.storage.createCSINode({
        body: {
          metadata: { name },
          spec: {
            drivers: [
              {
                name: this.opts.driverName,
                nodeID: this.opts.csiNodeId,
                topologyKeys: Object.keys(this.opts.topology),
                allocatable: { count: 100 },
              },
            ],
          },
        },
      });
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
    }
  }

  async heartbeat(): Promise<void> {
    const now = new Date().toISOString();
    const condition = (type: string, status: string, reason: string) => ({
      type,
      status,
      reason,
      message: 'set by the csi-sidecars-ts test harness (no kubelet)',
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    });
    for (const name of this.#names) {
      await this.kube.core.patchNodeStatus(
        {
          name,
          body: {
            status: {
              conditions: [
                condition('Ready', 'True', 'KubeletReady'),
                condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
                condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure'),
                condition('PIDPressure', 'False', 'KubeletHasSufficientPID'),
              ],
              capacity: { cpu: '8', memory: '32Gi', pods: '110' },
              allocatable: { cpu: '8', memory: '32Gi', pods: '110' },
              addresses: [{ type: 'Hostname', address: name }],
              nodeInfo: {
                architecture: 'amd64',
                bootID: '',
                containerRuntimeVersion: 'fake://0',
                kernelVersion: '',
                kubeProxyVersion: '',
                kubeletVersion: 'v1.36.3',
                machineID: '',
                operatingSystem: 'linux',
                osImage: 'csi-sidecars-ts fake node',
                systemUUID: '',
              },
            },
          },
        },
        mergePatch,
      );
    }
  }
}
