// csi-provisioner given bad input, against the real control plane and the real Kubernetes e2e
// CSI mock plugin: each bad claim or StorageClass (unknown reserved parameter, both fstype keys,
// malformed secret templates, a missing secret, absurd sizes, a label selector) must end in one
// clear Warning event on the claim — retries repeat it (the event's count grows), they never add
// a second, different one — and no backend volume, while a crowd of good claims created at the
// same time all provision.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CsiConnection } from '@csi-sidecars-ts/shared';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { DRIVER_NAME } from '../../src/harness/control-plane.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { plantSecret, secretValue } from '../../src/harness/planted-secrets.js';
import { startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { forEach, ProvisionerKit, settledWarnings, type ClaimOptions } from './support.js';

const NS = 'e2e-prov-bad-input';
const kit = new ProvisionerKit(NS);
const GOOD = 20;
const SC = {
  good: 'e2e-prov-bad-good',
  reserved: 'e2e-prov-bad-reserved',
  fstypes: 'e2e-prov-bad-fstypes',
  template: 'e2e-prov-bad-template',
  templateDns: 'e2e-prov-bad-template-dns',
  secret: 'e2e-prov-bad-secret',
};

interface BadCase {
  claim: string;
  sc: string;
  options?: ClaimOptions;
  /** Parts of the event message, in order. */
  message: string[];
}

const BAD: BadCase[] = [
  {
    claim: 'unknown-reserved-key',
    sc: SC.reserved,
    message: ['failed to strip CSI Parameters of prefixed keys', 'found unknown parameter key "csi.storage.k8s.io/provisoner-secret-name" with reserved namespace csi.storage.k8s.io/'],
  },
  {
    claim: 'both-fstype-keys',
    sc: SC.fstypes,
    message: ['fstype specified in parameters with both "fstype" and "csi.storage.k8s.io/fstype" keys'],
  },
  {
    claim: 'unknown-template-token',
    sc: SC.template,
    message: ['error resolving value "${pvc.label}-creds"', 'invalid tokens: ["pvc.label"]'],
  },
  {
    claim: 'template-to-bad-name',
    sc: SC.templateDns,
    options: { annotations: { team: 'Blue_Team' } },
    message: [`"\${pvc.annotations['team']}" resolved to "Blue_Team" which is not a valid secret name`],
  },
  {
    claim: 'missing-secret',
    sc: SC.secret,
    message: [`error getting secret no-such-secret in namespace ${NS}`],
  },
  {
    // Binary quantities beyond 2^63-1 are clamped to it by the apiserver (apimachinery does):
    // the plugin gets the clamped size and refuses it.
    claim: 'binary-beyond-int64',
    sc: SC.good,
    options: { size: '100Ei' },
    message: ['rpc error: code = OutOfRange', 'Requested capacity 9223372036854775807 exceeds maximum allowed 1099511627776'],
  },
  {
    // Decimal ones are not clamped: the sidecar refuses a size that no int64 can carry (Go would
    // send the low 64 bits of it).
    claim: 'decimal-beyond-int64',
    sc: SC.good,
    options: { size: '1e30' },
    message: ['quantity 1e30 is too large: it does not fit in a signed 64-bit integer'],
  },
  {
    // The mock plugin refuses 1 TiB and more with OUT_OF_RANGE.
    claim: 'beyond-plugin-maximum',
    sc: SC.good,
    options: { size: '2Ti' },
    message: ['rpc error: code = OutOfRange', 'Requested capacity 2199023255552 exceeds maximum allowed 1099511627776'],
  },
  {
    claim: 'label-selector',
    sc: SC.good,
    options: { selector: { matchLabels: { tier: 'gold' } } },
    message: ['claim Selector is not supported'],
  },
];

let provisioner: ManagedProcess | undefined;
let csi: CsiConnection | undefined;
const uids = new Map<string, string>();

async function backendVolumeNames(): Promise<string[]> {
  const res = await csi!.controller.listVolumes({});
  return res.entries.map((e) => e.volume?.volume_context?.name ?? '');
}

beforeAll(async () => {
  const info = clusterInfo();
  await kit.createNamespace();
  await kit.storageClass(SC.good, DRIVER_NAME);
  // A typo of provisioner-secret-name: a key in the reserved namespace that no sidecar knows.
  await kit.storageClass(SC.reserved, DRIVER_NAME, { parameters: { 'csi.storage.k8s.io/provisoner-secret-name': 'creds' } });
  await kit.storageClass(SC.fstypes, DRIVER_NAME, { parameters: { fstype: 'ext4', 'csi.storage.k8s.io/fstype': 'xfs' } });
  await kit.storageClass(SC.template, DRIVER_NAME, {
    parameters: { 'csi.storage.k8s.io/provisioner-secret-name': '${pvc.label}-creds', 'csi.storage.k8s.io/provisioner-secret-namespace': '${pvc.namespace}' },
  });
  await kit.storageClass(SC.templateDns, DRIVER_NAME, {
    parameters: { 'csi.storage.k8s.io/provisioner-secret-name': "${pvc.annotations['team']}", 'csi.storage.k8s.io/provisioner-secret-namespace': '${pvc.namespace}' },
  });
  await kit.storageClass(SC.secret, DRIVER_NAME, {
    parameters: { 'csi.storage.k8s.io/provisioner-secret-name': 'no-such-secret', 'csi.storage.k8s.io/provisioner-secret-namespace': '${pvc.namespace}' },
  });
  csi = new CsiConnection({ address: info.csiEndpoint, onConnectionLost: () => undefined });
  await csi.start();
  provisioner = await startSidecarChecked(info, 'provisioner', {
    logName: 'csi-provisioner-bad-input.log',
    // High verbosity: the end-of-run secret check covers what this level logs too.
    verbosity: 5,
    extraArgs: ['--retry-interval-start=200ms', '--retry-interval-max=2s'],
  });
});

afterAll(async () => {
  await kit.deleteClaimsAndWait(60_000).catch(() => undefined);
  await provisioner?.stop();
  csi?.dispose();
  await kit.cleanup();
}, 120_000);

describe('csi-provisioner with bad input', () => {
  it('provisions every good claim while the bad ones keep failing', async () => {
    // Bad and good claims interleaved, so the bad ones are in the queue the whole time.
    await forEach(Math.max(GOOD, BAD.length), 6, async (i) => {
      const bad = BAD[i];
      if (bad) uids.set(bad.claim, (await kit.claim(bad.claim, bad.sc, bad.options)).metadata!.uid!);
      if (i < GOOD) await kit.claim(`good-${i}`, SC.good);
    });
    await waitFor(`${GOOD} good claims Bound`, async () => (await kit.claims()).filter((c) => c.metadata!.name!.startsWith('good-') && c.status?.phase === 'Bound').length === GOOD, {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    for (const c of await kit.claims()) {
      if (c.metadata!.name!.startsWith('good-')) continue;
      expect({ claim: c.metadata!.name, phase: c.status?.phase, volume: c.spec?.volumeName }).toEqual({ claim: c.metadata!.name, phase: 'Pending', volume: undefined });
    }
  });

  it.each(BAD.map((b) => [b.claim, b] as const))('%s ends in one clear Warning event and no volume', async (_name, bad) => {
    // Several retries (every 200 ms .. 2 s) happen in the settling time.
    const warnings = await settledWarnings(kit, bad.claim, 4000);
    expect(warnings).toHaveLength(1);
    const [event] = warnings;
    expect(event!.reason).toBe('ProvisioningFailed');
    for (const part of bad.message) expect(event!.message).toContain(part);
    // The event says which claim and names no internal object.
    expect(event!.involvedObject).toMatchObject({ kind: 'PersistentVolumeClaim', namespace: NS, name: bad.claim });
    expect((await kit.readClaim(bad.claim)).status?.phase).toBe('Pending');
    expect(await backendVolumeNames()).not.toContain(`pvc-${uids.get(bad.claim)}`);
  });

  it('provisions the claim that waited for its secret once the secret exists, and still only one Warning', async () => {
    await plantSecret(kit.kube, NS, 'no-such-secret', { password: secretValue('password') });
    const pv = await kit.boundPv('missing-secret');
    expect(pv.metadata?.annotations).toMatchObject({
      'volume.kubernetes.io/provisioner-deletion-secret-name': 'no-such-secret',
      'volume.kubernetes.io/provisioner-deletion-secret-namespace': NS,
    });
    expect(await kit.warnings('missing-secret')).toHaveLength(1);
  });
});
