// The whole sidecar against the fake apiserver (real HTTP, real informers) and the fake CSI
// plugin on a real unix socket.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createKubeClient,
  CsiConnection,
  InformerFactory,
  MemoryEventRecorder,
  PERSISTENT_VOLUME_CLAIMS,
  PERSISTENT_VOLUMES,
  PODS,
  realClock,
  VOLUME_ATTRIBUTES_CLASSES,
  discardLogger,
} from '@csi-sidecars-ts/shared';
import { eventually, FakeApiServer, FakeCsiPlugin, GiB } from '@csi-sidecars-ts/shared/testing';
import type { KubeClient, PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { Registry } from 'prom-client';
import { boundPair, TEST_DRIVER } from './testing/fakes.js';
import type { ResizerSidecar } from './sidecar.js';
import { csiDepsFromConnection, startResizer } from './sidecar.js';

let server: FakeApiServer;
let client: KubeClient;
let plugin: FakeCsiPlugin;
let conn: CsiConnection;
let informers: InformerFactory;
let sidecar: ResizerSidecar;
const events = new MemoryEventRecorder();
const registry = new Registry();

function addPair(name: string, request: string): void {
  plugin.store.seed({ volumeId: `vol-${name}`, capacityBytes: GiB });
  const { pvc, pv } = boundPair({ name, request, capacity: '1Gi' });
  delete pvc.metadata!.resourceVersion;
  delete pv.metadata!.resourceVersion;
  const created = server.create(PERSISTENT_VOLUME_CLAIMS, pvc);
  pv.spec!.claimRef!.uid = created.metadata!.uid;
  server.create(PERSISTENT_VOLUMES, pv);
}

const claim = (name: string) => server.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIMS, name, 'ns')!;
const volume = (name: string) => server.get<PersistentVolume>(PERSISTENT_VOLUMES, `pv-${name}`)!;

beforeAll(async () => {
  server = await FakeApiServer.start();
  client = createKubeClient({ kubeconfig: server.writeKubeconfig(), qps: -1 });
  plugin = await FakeCsiPlugin.start({ driverName: TEST_DRIVER });
  conn = new CsiConnection({ address: plugin.address, timeoutMs: 5000, probeIntervalMs: 20, controllerCapabilities: 'if-controller-service', onConnectionLost: () => undefined });
  await conn.start();
  informers = new InformerFactory({ client });
  server.create(VOLUME_ATTRIBUTES_CLASSES, { metadata: { name: 'gold' }, driverName: TEST_DRIVER, parameters: { iops: '4567' } });
  server.create(PODS, { metadata: { name: 'web', namespace: 'ns' }, spec: { containers: [], volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'used' } }] }, status: { phase: 'Running' } });
  addPair('grow', '2Gi');
  sidecar = await startResizer(
    { kube: client, informers, csi: csiDepsFromConnection(conn), events, registry, clock: realClock, logger: discardLogger },
    {
      workers: 2,
      resyncPeriodMs: 0,
      retryIntervalStartMs: 50,
      retryIntervalMaxMs: 1000,
      handleVolumeInuseError: true,
      extraModifyMetadata: false,
      featureGates: { enabled: (n) => n !== 'AnnotateFsResize', isExplicitlySet: (n) => n === 'VolumeAttributesClass' },
    },
  );
});

afterAll(async () => {
  await sidecar?.dispose();
  await informers?.dispose();
  conn?.dispose();
  await plugin?.dispose();
  client?.dispose();
  await server?.close();
});

describe('startResizer', () => {
  it('runs both controllers for a driver with EXPAND_VOLUME and MODIFY_VOLUME', () => {
    expect(sidecar.plan).toMatchObject({ resizer: 'controller', modifier: true, modifyController: true });
    expect(sidecar.resizeController).toBeDefined();
    expect(sidecar.modifyController).toBeDefined();
  });

  it('expands a bound claim end to end: ControllerExpandVolume, PV capacity, claim waiting for the node step', async () => {
    await eventually(() => claim('grow').status?.allocatedResourceStatuses?.storage === 'NodeResizePending', 'claim NodeResizePending');
    expect(plugin.callsTo('ControllerExpandVolume').map((c) => [c.request.volume_id, c.request.capacity_range?.required_bytes])).toEqual([['vol-grow', 2n * GiB]]);
    expect(volume('grow').spec!.capacity).toEqual({ storage: '2Gi' });
    const status = claim('grow').status!;
    expect(status.allocatedResources).toEqual({ storage: '2Gi' });
    expect(status.conditions!.map((c) => c.type)).toEqual(['Resizing', 'FileSystemResizePending']);
    await eventually(() => events.for('grow', 'ns').length === 2, 'two events');
    expect(events.for('grow', 'ns').map((e) => e.reason)).toEqual(['Resizing', 'FileSystemResizeRequired']);
  });

  it('keeps only pods that use claims in its pod index', async () => {
    await eventually(() => sidecar.podIndex!.hasSynced(), 'pod index synced');
    expect(sidecar.podIndex!.isClaimInUse('ns', 'used')).toBe(true);
    // The initial state comes as a streaming list (one watch with sendInitialEvents), with the selector.
    const podList = server.requests.find((r) => r.path === '/api/v1/pods')!;
    expect(podList.query.fieldSelector).toBe('status.phase!=Succeeded,status.phase!=Failed');
    expect(podList.query.sendInitialEvents).toBe('true');
  });

  it('a driver answering 0 bytes gets a clear error on its claim while other claims keep being served', async () => {
    plugin.setHandler('ControllerExpandVolume', (req) => {
      if (req.volume_id === 'vol-zero') return { capacity_bytes: 0n, node_expansion_required: false };
      return plugin.store.expand(req);
    });
    addPair('zero', '2Gi');
    addPair('fine', '3Gi');
    await eventually(() => claim('zero').status?.allocatedResourceStatuses?.storage === 'ControllerResizeInfeasible', 'zero claim infeasible');
    await eventually(() => claim('fine').status?.allocatedResourceStatuses?.storage === 'NodeResizePending', 'fine claim expanded');
    const error = claim('zero').status!.conditions!.find((c) => c.type === 'ControllerResizeError')!;
    expect(error.message).toContain('answered ControllerExpandVolume for volume vol-zero with capacity_bytes 0');
    expect(volume('zero').spec!.capacity).toEqual({ storage: '1Gi' });
    await eventually(() => events.for('zero', 'ns').some((e) => e.type === 'Warning' && e.reason === 'VolumeResizeFailed'), 'VolumeResizeFailed event');
    // Infeasible: retried slowly, not in a tight loop.
    const calls = plugin.callsTo('ControllerExpandVolume').filter((c) => c.request.volume_id === 'vol-zero').length;
    expect(calls).toBeLessThanOrEqual(2);
    plugin.resetHandler('ControllerExpandVolume');
  });

  it('modifies a volume when the claim gets a VolumeAttributesClass', async () => {
    const cur = claim('grow');
    server.update(PERSISTENT_VOLUME_CLAIMS, { ...cur, spec: { ...cur.spec, volumeAttributesClassName: 'gold' } });
    await eventually(() => claim('grow').status?.currentVolumeAttributesClassName === 'gold', 'claim current class gold');
    expect(volume('grow').spec!.volumeAttributesClassName).toBe('gold');
    expect(plugin.callsTo('ControllerModifyVolume').map((c) => [c.request.volume_id, c.request.mutable_parameters])).toEqual([['vol-grow', { iops: '4567' }]]);
    await eventually(() => events.for('grow', 'ns').some((e) => e.reason === 'VolumeModifySuccessful'), 'VolumeModifySuccessful event');
  });

  it('exports the workqueue metrics under the Go queue name', async () => {
    const text = await registry.metrics();
    expect(text).toContain(`workqueue_adds_total{name="${TEST_DRIVER}-pvc"}`);
  });
});
