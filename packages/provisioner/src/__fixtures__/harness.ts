// Test harness: the provisioner against the fake apiserver (real HTTP) and the fake CSI plugin
// (real gRPC on a temporary unix socket), with short retry intervals.

import { CsiConnection, InformerFactory, MemoryEventRecorder, createKubeClient, discardLogger } from '@csi-sidecars-ts/shared';
import { FakeApiServer, FakeCsiPlugin, eventually } from '@csi-sidecars-ts/shared/testing';
import type { ControllerCapabilityName, CsiOperationMetrics, CsiPluginCapabilityInput, KubeClient, Logger } from '@csi-sidecars-ts/shared';
import type { FakeApiServerOptions, FakeCsiPluginOptions } from '@csi-sidecars-ts/shared/testing';
import { Registry } from 'prom-client';
import { startProvisioner } from '../sidecar.js';
import type { ProvisionerSidecar, ProvisionerSidecarOptions } from '../sidecar.js';

export const DRIVER = 'fake.csi.example.com';

export const TOPOLOGY_PLUGIN_CAPS: CsiPluginCapabilityInput[] = [
  { service: { type: 'CONTROLLER_SERVICE' } },
  { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } },
];

export const BASE_CONTROLLER_CAPS: ControllerCapabilityName[] = ['CREATE_DELETE_VOLUME', 'LIST_VOLUMES', 'GET_CAPACITY', 'CLONE_VOLUME'];

export function defaultOptions(over: Partial<ProvisionerSidecarOptions> = {}): ProvisionerSidecarOptions {
  return {
    volumeNamePrefix: 'pvc',
    volumeNameUuidLength: -1,
    retryIntervalStartMs: 10,
    retryIntervalMaxMs: 100,
    workerThreads: 4,
    cloningProtectionThreads: 1,
    timeoutMs: 2000,
    strictTopology: false,
    immediateTopology: true,
    extraCreateMetadata: false,
    defaultFstype: '',
    controllerPublishReadonly: false,
    preventVolumeModeConversion: true,
    nodeDeployment: false,
    nodeDeploymentImmediateBinding: true,
    nodeDeploymentBaseDelayMs: 20,
    nodeDeploymentMaxDelayMs: 60,
    featureGates: { enabled: (name) => name !== 'CrossNamespaceVolumeDataSource' },
    ...over,
  };
}

export interface Harness extends ProvisionerInstance {
  server: FakeApiServer;
  plugin: FakeCsiPlugin;
}

/** A fake apiserver, a fake CSI plugin and one provisioner instance over them, closed together. */
export async function startHarness(
  opts: {
    plugin?: FakeCsiPluginOptions;
    options?: Partial<ProvisionerSidecarOptions>;
    logger?: Logger;
    beforeStart?: (server: FakeApiServer) => void;
    server?: FakeApiServerOptions;
    /** Metrics of the CSI connection (e.g. with the `migrated` label, as the runtime sets up). */
    csiMetrics?: CsiOperationMetrics;
  } = {},
): Promise<Harness> {
  const server = await FakeApiServer.start(opts.server);
  opts.beforeStart?.(server);
  const plugin = await FakeCsiPlugin.start({ driverName: DRIVER, controllerCapabilities: BASE_CONTROLLER_CAPS, ...opts.plugin });
  const instance = await startInstance(server, plugin, opts);
  return {
    ...instance,
    server,
    plugin,
    async close() {
      await instance.close();
      await plugin.dispose();
      await server.close();
    },
  };
}

/** One provisioner process's worth of clients and controllers, against a server and plugin that outlive it. */
export interface ProvisionerInstance {
  sidecar: ProvisionerSidecar;
  kube: KubeClient;
  recorder: MemoryEventRecorder;
  registry: Registry;
  /** Stops everything this instance started (as a process exit would, minus the crash). */
  close(): Promise<void>;
}

export async function startInstance(
  server: FakeApiServer,
  plugin: FakeCsiPlugin,
  opts: { options?: Partial<ProvisionerSidecarOptions>; logger?: Logger; csiMetrics?: CsiOperationMetrics } = {},
): Promise<ProvisionerInstance> {
  const kube = createKubeClient({ kubeconfig: server.writeKubeconfig(), qps: -1 });
  const informers = new InformerFactory({ client: kube });
  const conn = new CsiConnection({
    address: plugin.address,
    timeoutMs: 2000,
    probeIntervalMs: 10,
    onConnectionLost: () => undefined,
    ...(opts.csiMetrics ? { metrics: opts.csiMetrics } : {}),
  });
  const info = await conn.start();
  const recorder = new MemoryEventRecorder();
  const registry = new Registry();
  const sidecar = await startProvisioner(
    {
      kube,
      informers,
      csi: {
        controller: conn.controller,
        node: conn.node,
        driverName: info.name,
        pluginCapabilities: info.pluginCapabilities.services,
        controllerCapabilities: info.controllerCapabilities,
      },
      recorder,
      registry,
      logger: opts.logger ?? discardLogger,
    },
    defaultOptions(opts.options),
  );
  return {
    sidecar,
    kube,
    recorder,
    registry,
    async close() {
      await sidecar.dispose();
      await informers.dispose();
      conn.dispose();
      kube.dispose();
    },
  };
}

export function storageClass(name: string, over: Record<string, unknown> = {}) {
  return { metadata: { name }, provisioner: DRIVER, reclaimPolicy: 'Delete', volumeBindingMode: 'Immediate', ...over };
}

export function claim(name: string, sc: string, over: { annotations?: Record<string, string>; spec?: Record<string, unknown>; namespace?: string } = {}) {
  return {
    metadata: {
      name,
      namespace: over.namespace ?? 'ns',
      annotations: { 'volume.kubernetes.io/storage-provisioner': DRIVER, ...over.annotations },
    },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: sc, resources: { requests: { storage: '1Gi' } }, ...over.spec },
    status: { phase: 'Pending' },
  };
}

export { eventually };

/** Like eventually, for conditions that need an await (e.g. reading metrics). */
export async function eventuallyAsync(cond: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
