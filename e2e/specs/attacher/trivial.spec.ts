// csi-attacher with a driver that cannot attach: the real Kubernetes e2e CSI mock plugin started
// with --disable-attach (it then leaves PUBLISH_UNPUBLISH_VOLUME out of its controller
// capabilities, and would answer Unimplemented to ControllerPublishVolume), under a driver name of
// this spec's own whose CSIDriver still says attachRequired: true, so kube-controller-manager
// creates VolumeAttachments. The attacher must pick its trivial handler: mark each VA attached,
// with no finalizer, no node-id annotation, no PV finalizer and no CSI call.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CsiConnection } from '@csi-sidecars-ts/shared';
import { clusterInfo, clusterKube } from '../../src/harness/cluster-env.js';
import { startExtraPlugin, type ExtraPlugin } from '../../src/harness/extra-plugin.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { freePort } from '../../src/harness/ports.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { AttacherKit, attacherFinalizer, NODE_ID_ANNOTATION } from './attacher-kit.js';

const NS = 'e2e-attacher-trivial';
const DRIVER = 'attacher-trivial.e2e.csi';
const FINALIZER = attacherFinalizer(DRIVER);

const kube = clusterKube();
const kit = new AttacherKit(kube, NS);
let plugin: ExtraPlugin | undefined;
let csi: CsiConnection | undefined;
let attacher: ManagedProcess | undefined;
let metricsPort = 0;

beforeAll(async () => {
  const info = clusterInfo();
  await kit.createNamespace();
  plugin = await startExtraPlugin(info, kube, { driverName: DRIVER, args: ['--disable-attach'], csiDriverSpec: { attachRequired: true } });
  csi = new CsiConnection({ address: plugin.endpoint, onConnectionLost: () => undefined });
  await csi.start();
  metricsPort = await freePort();
  attacher = await startSidecarChecked(info, 'attacher', {
    csiAddress: plugin.socket,
    logName: 'csi-attacher-trivial.log',
    extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=2s', `--http-endpoint=127.0.0.1:${metricsPort}`],
  });
});

afterAll(async () => {
  await kit.drain();
  await attacher?.stop();
  await kit.cleanUp([FINALIZER]);
  csi?.dispose();
  await plugin?.stop();
});

describe('csi-attacher with a driver without PUBLISH_UNPUBLISH_VOLUME', () => {
  it('marks VolumeAttachments attached without finalizers or CSI calls, and lets them go on Pod deletion', async () => {
    // The premise: the plugin really lacks the capability, and its CSIDriver asks for attachment.
    const caps = (await csi!.controller.controllerGetCapabilities({})).capabilities.map((c) => c.rpc?.type);
    expect(caps).toContain('LIST_VOLUMES');
    expect(caps).not.toContain('PUBLISH_UNPUBLISH_VOLUME');
    expect((await kube.storage.readCSIDriver({ name: DRIVER })).spec.attachRequired).toBe(true);

    const created = await csi!.controller.createVolume({
      name: 'e2e-trivial-1',
      capacity_range: { required_bytes: 1024n ** 3n },
      volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
    });
    const { pv, pvc } = await kit.createClaim('e2e-trivial-1', DRIVER, created.volume!.volume_id);
    await kit.waitBound(pvc);
    await kit.podOn('e2e-trivial-1', 'node-1', pvc);

    const va = await kit.waitVa(pv, 'attached', (v) => v.status?.attached === true);
    expect(va.spec.attacher).toBe(DRIVER);
    expect(va.status?.attachError).toBeUndefined();
    expect(va.status?.attachmentMetadata).toBeUndefined();
    expect(va.metadata?.finalizers ?? []).toEqual([]);
    expect(va.metadata?.annotations?.[NODE_ID_ANNOTATION]).toBeUndefined();
    expect((await kit.readPv(pv))?.metadata?.finalizers ?? []).not.toContain(FINALIZER);

    // No Controller(Un)Publish and no ListVolumes reconciler: the only CSI calls are start-up ones.
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const methods = new Set([...metrics.matchAll(/csi_sidecar_operations_seconds_count\{[^}]*method_name="([^"]+)"/g)].map((m) => m[1]));
    expect(methods).toContain('/csi.v1.Identity/Probe');
    for (const m of ['ControllerPublishVolume', 'ControllerUnpublishVolume', 'ListVolumes']) expect(methods).not.toContain(`/csi.v1.Controller/${m}`);

    await kit.deletePod('e2e-trivial-1');
    await kit.waitVaGone(pv);
  });
});
