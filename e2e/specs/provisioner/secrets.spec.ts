// csi-provisioner with secrets from real Secret objects on the real control plane: StorageClass
// templates resolved per claim, the provisioner secret's data sent with CreateVolume and — read
// again at deletion from the Secret the PV names — with DeleteVolume, the other secrets written
// to the PV as references. The Kubernetes mock plugin ignores secrets and nothing else shows what
// reached the plugin (the sidecar's own log strips secrets), so the plugin here is the project's
// fake CSI plugin, used only to record the requests. The Secrets are planted (plantSecret) and
// the provisioner runs at -v=6, so the run's end-of-suite check proves no value reached its log.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FakeCsiPlugin, type FakeRequest } from '@csi-sidecars-ts/shared/testing';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { registerDriver, unregisterDriver } from '../../src/harness/extra-plugin.js';
import { plantSecret, secretValue } from '../../src/harness/planted-secrets.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { ProvisionerKit } from './support.js';

const NS = 'e2e-prov-secrets';
/** Secrets kept away from the claims' namespace, as an operator would. */
const VAULT = 'e2e-prov-secrets-vault';
const DRIVER = 'e2e-prov-secrets.csi.test';
const SC_TEMPLATES = 'e2e-prov-secrets-templates';
const SC_DEFAULT = 'e2e-prov-secrets-default';
const P = 'csi.storage.k8s.io';
const USER = secretValue('user');
const PASSWORD = secretValue('password');
const ROTATED = secretValue('rotated');
const TOKEN = secretValue('token');

const kit = new ProvisionerKit(NS);
let plugin: FakeCsiPlugin;
let provisioner: ManagedProcess | undefined;

async function secret(namespace: string, name: string, data: Record<string, string>): Promise<void> {
  await plantSecret(kit.kube, namespace, name, data);
}

function createRequestFor(pvName: string): FakeRequest<'CreateVolume'> {
  const call = plugin.callsTo('CreateVolume').find((c) => c.request.name === pvName && c.outcome === 'OK');
  if (!call) throw new Error(`no successful CreateVolume for ${pvName}`);
  return call.request;
}

beforeAll(async () => {
  const info = clusterInfo();
  await kit.createNamespace();
  await kit.kube.core.createNamespace({ body: { metadata: { name: VAULT } } }).catch(() => undefined);
  await kit.storageClass(SC_TEMPLATES, DRIVER, {
    parameters: {
      [`${P}/provisioner-secret-name`]: '${pvc.name}-provision',
      [`${P}/provisioner-secret-namespace`]: '${pvc.namespace}',
      [`${P}/controller-publish-secret-name`]: "${pvc.annotations['team']}-publish",
      [`${P}/controller-publish-secret-namespace`]: VAULT,
      [`${P}/node-stage-secret-name`]: 'stage-${pvc.name}',
      [`${P}/node-stage-secret-namespace`]: '${pvc.namespace}',
      [`${P}/node-publish-secret-name`]: '${pv.name}',
      [`${P}/node-publish-secret-namespace`]: VAULT,
      [`${P}/controller-expand-secret-name`]: 'expand',
      [`${P}/controller-expand-secret-namespace`]: VAULT,
      [`${P}/node-expand-secret-name`]: "${pvc.annotations['team']}-node-expand",
      [`${P}/node-expand-secret-namespace`]: '${pvc.namespace}',
      pool: 'gold',
    },
  });
  await kit.storageClass(SC_DEFAULT, DRIVER, { parameters: { [`${P}/secret-name`]: 'shared', [`${P}/secret-namespace`]: VAULT } });
  plugin = await FakeCsiPlugin.start({ driverName: DRIVER, controllerCapabilities: ['CREATE_DELETE_VOLUME'] });
  await registerDriver(info, kit.kube, DRIVER, { attachRequired: false });
  provisioner = await startSidecarChecked(info, 'provisioner', {
    csiAddress: plugin.socketPath,
    logName: 'csi-provisioner-secrets.log',
    verbosity: 6,
    extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=2s'],
  });
}, 60_000);

afterAll(async () => {
  await kit.deleteClaimsAndWait(60_000).catch(() => undefined);
  await provisioner?.stop();
  await unregisterDriver(clusterInfo(), kit.kube, DRIVER);
  await plugin?.dispose();
  await kit.kube.core.deleteNamespace({ name: VAULT }).catch(() => undefined);
  await kit.cleanup();
}, 120_000);

describe('csi-provisioner secrets', () => {
  it('resolves every secret template for the claim, sends the provisioner secret and references the others', async () => {
    await secret(NS, 'db-provision', { username: USER, password: PASSWORD });
    const claim = await kit.claim('db', SC_TEMPLATES, { annotations: { team: 'blue' } });
    const pvName = `pvc-${claim.metadata!.uid}`;
    const pv = await kit.boundPv('db');
    const req = createRequestFor(pvName);
    expect(req.secrets).toEqual({ username: USER, password: PASSWORD });
    // The reserved keys are consumed by the sidecar, the rest reaches the plugin.
    expect(req.parameters).toEqual({ pool: 'gold' });
    expect(pv.spec?.csi).toMatchObject({
      controllerPublishSecretRef: { name: 'blue-publish', namespace: VAULT },
      nodeStageSecretRef: { name: 'stage-db', namespace: NS },
      nodePublishSecretRef: { name: pvName, namespace: VAULT },
      controllerExpandSecretRef: { name: 'expand', namespace: VAULT },
      nodeExpandSecretRef: { name: 'blue-node-expand', namespace: NS },
    });
    expect(pv.metadata?.annotations).toMatchObject({
      'volume.kubernetes.io/provisioner-deletion-secret-name': 'db-provision',
      'volume.kubernetes.io/provisioner-deletion-secret-namespace': NS,
    });
  });

  it('reads the provisioner secret again for DeleteVolume, from the Secret the PV names', async () => {
    const pv = (await kit.pvs()).find((p) => p.spec?.claimRef?.name === 'db')!;
    // Rotated credentials: deletion must use what the Secret holds now.
    await plantSecret(kit.kube, NS, 'db-provision', { username: USER, password: ROTATED }, { replace: true });
    await kit.deleteClaim('db');
    await waitFor('PV deleted', async () => (await kit.readPv(pv.metadata!.name!)) === undefined);
    const del = plugin.callsTo('DeleteVolume').find((c) => c.request.volume_id === pv.spec!.csi!.volumeHandle && c.outcome === 'OK');
    expect(del?.request.secrets).toEqual({ username: USER, password: ROTATED });
    expect(plugin.store.byName(pv.metadata!.name!)).toBeUndefined();
  });

  it('uses the default secret for every operation when only csi.storage.k8s.io/secret-* is set', async () => {
    await secret(VAULT, 'shared', { token: TOKEN });
    const claim = await kit.claim('defaults', SC_DEFAULT);
    const pv = await kit.boundPv('defaults');
    expect(createRequestFor(`pvc-${claim.metadata!.uid}`).secrets).toEqual({ token: TOKEN });
    const ref = { name: 'shared', namespace: VAULT };
    expect(pv.spec?.csi).toMatchObject({
      controllerPublishSecretRef: ref,
      nodeStageSecretRef: ref,
      nodePublishSecretRef: ref,
      controllerExpandSecretRef: ref,
      nodeExpandSecretRef: ref,
    });
  });
});
