// A complete attacher against the fake apiserver and the fake CSI plugin (real HTTP, real unix
// socket, real clock with short retry intervals), for the controller tests.
import type { CSINode, KubeClient, PersistentVolume } from '@csi-sidecars-ts/shared';
import type { FakeCsiPluginOptions } from '@csi-sidecars-ts/shared/testing';
import {
  CSI_NODES,
  PERSISTENT_VOLUMES,
  CsiConnection,
  InformerFactory,
  createKubeClient,
  discardLogger,
  realClock,
} from '@csi-sidecars-ts/shared';
import { FakeApiServer, FakeCsiPlugin, eventually } from '@csi-sidecars-ts/shared/testing';
import { Registry } from 'prom-client';
import type { AttacherHandle, AttacherRunOptions } from '../sidecar.js';
import { startAttacher } from '../sidecar.js';
import { DRIVER, csiNode } from './objects.js';

export interface AttacherEnv {
  server: FakeApiServer;
  plugin: FakeCsiPlugin;
  kube: KubeClient;
  handle: AttacherHandle;
  registry: Registry;
  /** Creates a PV and waits until the attacher's cache has it. */
  createPv(pv: PersistentVolume): Promise<void>;
  /** Creates a CSINode and waits until the attacher's cache has it. */
  createCsiNode(node: CSINode): Promise<void>;
  dispose(): Promise<void>;
}

export const FAST: AttacherRunOptions = {
  timeoutMs: 5000,
  retryIntervalStartMs: 20,
  retryIntervalMaxMs: 200,
  workerThreads: 4,
  maxEntries: 0,
  defaultFstype: '',
  reconcileSyncMs: 60 * 60_000,
  resyncMs: 0,
};

export async function startEnv(opts: { plugin?: FakeCsiPluginOptions; run?: Partial<AttacherRunOptions>; seed?: (server: FakeApiServer) => void } = {}): Promise<AttacherEnv> {
  const server = await FakeApiServer.start();
  const plugin = await FakeCsiPlugin.start({ driverName: DRIVER, ...opts.plugin });
  const conn = new CsiConnection({ address: plugin.socketPath, probeIntervalMs: 20, onConnectionLost: () => undefined, controllerCapabilities: 'if-controller-service' });
  const info = await conn.start();
  const kube = createKubeClient({ kubeconfig: server.writeKubeconfig(), qps: -1 });
  const factory = new InformerFactory({ client: kube, clock: realClock, logger: discardLogger });
  server.create(CSI_NODES, csiNode('node-1', { [DRIVER]: 'csi-node-1', 'other.driver': 'other-id' }));
  opts.seed?.(server);
  const registry = new Registry();
  const handle = await startAttacher(
    {
      kube,
      informerFactory: factory,
      controller: conn.controller,
      driverName: info.name,
      pluginCapabilities: info.pluginCapabilities.services,
      controllerCapabilities: info.controllerCapabilities,
      registry,
      clock: realClock,
      logger: discardLogger,
    },
    { ...FAST, ...opts.run },
  );
  return {
    server,
    plugin,
    kube,
    handle,
    registry,
    async createPv(pv) {
      const stored = server.create(PERSISTENT_VOLUMES, pv);
      await eventually(() => handle.caches.persistentVolumes.getByName(undefined, stored.metadata!.name!)?.metadata?.resourceVersion === stored.metadata?.resourceVersion, 'PV cached');
    },
    async createCsiNode(node) {
      const stored = server.create(CSI_NODES, node);
      await eventually(() => handle.caches.csiNodes.getByName(undefined, stored.metadata!.name!) !== undefined, 'CSINode cached');
    },
    async dispose() {
      await handle.dispose();
      await factory.dispose();
      kube.dispose();
      conn.dispose();
      await plugin.dispose();
      await server.close();
    },
  };
}

export { eventually };
