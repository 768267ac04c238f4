// A seeded batch of bad objects pushed through the real kube-apiserver to our three running
// sidecars (the seed is printed; replay with CSI_FUZZ_SEED=<seed>): StorageClasses whose
// parameters hold unknown reserved keys, both fstype keys, malformed or half secret templates,
// huge and unicode values; claims of absurd sizes; garbage selected-node and huge annotations;
// VolumeAttachments naming a missing PV or carrying a garbage inline spec. Each object the API
// accepts must end in a clear Warning event (claims) or attachError (VolumeAttachments), none may
// get a volume or be attached, the sidecars must stay alive, and a good claim created at the end —
// with provisioner, controller-publish and controller-expand secrets planted for the end-of-run
// secret check, all three sidecars at -v=6 — must be provisioned, attached and expanded.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CoreV1Event } from '@kubernetes/client-node';
import { fuzzSeed, seededRandom, type SeededRandom } from '@csi-sidecars-ts/shared/testing';
import { clusterInfo } from '../../src/harness/cluster-env.js';
import { DRIVER_NAME } from '../../src/harness/control-plane.js';
import { mergePatch, statusCode } from '../../src/harness/kube.js';
import type { ManagedProcess } from '../../src/harness/managed-process.js';
import { plantSecret, secretValue } from '../../src/harness/planted-secrets.js';
import { SIDECARS, startSidecarChecked } from '../../src/harness/sidecars.js';
import { waitFor } from '../../src/harness/wait.js';
import { ProvisionerKit, sleep } from '../provisioner/support.js';

const SEED = fuzzSeed();
const NS = 'e2e-fuzz';
const P = 'csi.storage.k8s.io';
const SC_GOOD = 'e2e-fuzz-good';
const SC_WFFC = 'e2e-fuzz-wffc';
const SC_SECRETS = 'e2e-fuzz-secrets';
const kit = new ProvisionerKit(NS);
const procs: ManagedProcess[] = [];
const vas: string[] = [];

/** Messages the provisioner gives for bad StorageClass parameters, claim sizes and annotations. */
const CLEAR = [
  'found unknown parameter key',
  'fstype specified in parameters with both',
  'error resolving value',
  'Both must be specified',
  'is not a valid namespace name',
  'is not a valid secret name',
  'value of either namespace or name is empty',
  'with both "csi" and',
  'does not fit in a signed 64-bit integer',
  'failed to get target node',
  'failed to get selected CSINode',
  'error getting secret',
  'out of range',
  'OutOfRange',
];

type BadKind = 'unknown-reserved' | 'both-fstype' | 'bad-template' | 'half-secret' | 'bad-namespace' | 'empty-secret-name';
const KINDS: BadKind[] = ['unknown-reserved', 'both-fstype', 'bad-template', 'half-secret', 'bad-namespace', 'empty-secret-name'];

function badParameters(rng: SeededRandom, kind: BadKind): Record<string, string> {
  const params: Record<string, string> = {};
  // Noise the driver may receive: unicode, long values, template-looking text.
  for (let i = rng.int(0, 4); i > 0; i--) {
    const k = rng.garbage(40).replace(/\u0000/g, '') || 'k';
    if (!k.startsWith(P)) params[k] = rng.garbage(rng.pick([50, 300, 3000]));
  }
  const secret = rng.pick(['provisioner', 'controller-publish', 'controller-expand', 'node-stage']);
  switch (kind) {
    case 'unknown-reserved':
      params[`${P}/${rng.pick(['provisoner-secret-name', 'fs-type', rng.chars(12, 'abcdefghij-')])}`] = rng.garbage(100);
      break;
    case 'both-fstype':
      params.fstype = 'ext4';
      params[`${P}/fstype`] = rng.pick(['xfs', rng.garbage(20)]);
      break;
    case 'bad-template':
      params[`${P}/${secret}-secret-name`] = rng.pick(['${pvc.label}-creds', '${pvc.annotations[team]}', '${', '${pv.uid}', `${rng.garbage(20)}\${nope}`]);
      params[`${P}/${secret}-secret-namespace`] = '${pvc.namespace}';
      break;
    case 'half-secret':
      params[`${P}/${secret}-secret-name`] = 'creds';
      break;
    case 'bad-namespace':
      params[`${P}/${secret}-secret-name`] = 'creds';
      params[`${P}/${secret}-secret-namespace`] = rng.pick(['Not_A_Namespace', 'ünï', 'x'.repeat(100), '${pv.name}.${pv.name}']);
      break;
    case 'empty-secret-name':
      params[`${P}/${secret}-secret-name`] = '';
      params[`${P}/${secret}-secret-namespace`] = NS;
      break;
  }
  return params;
}

async function created<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    const code = statusCode(err);
    // The API refusing a bad object is a clear status too; anything else is a harness problem.
    if (code === 400 || code === 422) {
      process.stderr.write(`fuzz: the API refused ${what} (${code})\n`);
      return undefined;
    }
    throw err;
  }
}

/** The provisioner's Warning on a claim (kube-controller-manager's own, e.g. a StorageClass not in its cache yet, are not ours). */
async function warningOf(claim: string): Promise<string> {
  const ours = (w: CoreV1Event) => w.reason === 'ProvisioningFailed' && (w.source?.component ?? w.reportingComponent) !== 'persistentvolume-controller';
  const e = await waitFor(`a Warning event of the provisioner on claim ${claim}`, async () => (await kit.warnings(claim)).find(ours), { timeoutMs: 45_000, intervalMs: 300 });
  return e.message ?? '';
}

beforeAll(async () => {
  process.stdout.write(`fuzz seed ${SEED} (replay: CSI_FUZZ_SEED=${SEED})\n`);
  const info = clusterInfo();
  await kit.createNamespace();
  await kit.storageClass(SC_GOOD, DRIVER_NAME, { allowVolumeExpansion: true });
  await kit.storageClass(SC_WFFC, DRIVER_NAME, { volumeBindingMode: 'WaitForFirstConsumer' });
  const flags = ['--retry-interval-start=200ms', '--retry-interval-max=2s', '--timeout=10s'];
  for (const name of SIDECARS) {
    const p = await startSidecarChecked(info, name, {
      verbosity: 6,
      logName: `fuzz-csi-${name}.log`,
      extraArgs: name === 'provisioner' ? [...flags, `--leader-election-namespace=${NS}`] : flags,
    });
    procs.push(p);
  }
}, 60_000);

afterAll(async () => {
  for (const name of vas) {
    await kit.kube.storage.deleteVolumeAttachment({ name }).catch(() => undefined);
  }
  await sleep(2000);
  for (const name of vas) {
    await kit.kube.storage.patchVolumeAttachment({ name, body: { metadata: { finalizers: null } } }, mergePatch).catch(() => undefined);
  }
  await kit.deleteClaimsAndWait(60_000).catch(() => undefined);
  for (const p of procs) await p.stop();
  await kit.deleteStorageClass(SC_SECRETS).catch(() => undefined);
  await kit.cleanup();
}, 120_000);

describe(`bad input through the API to the running sidecars (seed ${SEED})`, () => {
  it('every bad StorageClass, size and annotation ends in a clear Warning on its claim, with no volume', async () => {
    const rng = seededRandom(SEED);
    const claims: { name: string; what: string }[] = [];
    // StorageClasses with bad parameters: one of each kind, in a seeded order, plus two more.
    const kinds = [...rng.shuffle(KINDS), rng.pick(KINDS), rng.pick(KINDS)];
    for (const [i, kind] of kinds.entries()) {
      const sc = `e2e-fuzz-bad-${i}`;
      const params = badParameters(rng, kind);
      const ok = await created(`StorageClass ${sc} (${kind})`, () => kit.storageClass(sc, DRIVER_NAME, { parameters: params }).then(() => true));
      if (!ok) continue;
      const name = `sc-${i}-${kind}`;
      if (await created(`claim ${name}`, () => kit.claim(name, sc, { annotations: { team: rng.pick(['blue', 'Blue_Team', rng.garbage(60)]) } }))) claims.push({ name, what: `StorageClass ${kind} ${JSON.stringify(params).slice(0, 200)}` });
    }
    // Absurd sizes the API accepts (0 and negatives it refuses).
    for (const [i, size] of [rng.pick(['1e30', '100Ei', '9223372036854775808']), rng.pick(['8Ei', '1E19'])].entries()) {
      const name = `size-${i}`;
      if (await created(`claim ${name} of ${size}`, () => kit.claim(name, SC_GOOD, { size }))) claims.push({ name, what: `size ${size}` });
    }
    // Sizes the API refuses (zero, negative) and fractional ones it accepts: those are valid
    // (rounded up to whole bytes, as in Kubernetes) and must provision.
    for (const size of ['0', '-1Gi']) expect(await created(`claim of ${size}`, () => kit.claim(`refused-${size.replace(/[^0-9a-z]/gi, 'x')}`, SC_GOOD, { size }))).toBeUndefined();
    const tiny: string[] = [];
    for (const [i, size] of [rng.pick(['0.5', '1m', '1n']), rng.pick(['1.5', '999m', '0.001Ki'])].entries()) {
      if (await created(`claim tiny-${i} of ${size}`, () => kit.claim(`tiny-${i}`, SC_GOOD, { size }))) tiny.push(`tiny-${i}`);
    }
    // A garbage node in selected-node, and a huge annotation resolved into a secret name.
    const node = rng.pick(['../../etc/passwd', 'no such node', `node-${rng.chars(20, 'abc')}`, 'ünïcødé-名前', 'a/b?c=d#e']);
    if (await created('claim selected-node', () => kit.claim('selected-node', SC_WFFC, { annotations: { 'volume.kubernetes.io/selected-node': node } }))) claims.push({ name: 'selected-node', what: `selected-node ${JSON.stringify(node)}` });
    const templated = 'e2e-fuzz-templated';
    await kit.storageClass(templated, DRIVER_NAME, { parameters: { [`${P}/provisioner-secret-name`]: "${pvc.annotations['team']}", [`${P}/provisioner-secret-namespace`]: '${pvc.namespace}' } });
    if (await created('claim huge-annotation', () => kit.claim('huge-annotation', templated, { annotations: { team: `${rng.garbage(30)}${'x'.repeat(100_000)}` } }))) claims.push({ name: 'huge-annotation', what: 'huge annotation' });

    expect(claims.length).toBeGreaterThanOrEqual(8);
    for (const c of claims) {
      const message = await warningOf(c.name);
      if (!CLEAR.some((m) => message.includes(m))) throw new Error(`claim ${c.name} (${c.what}): unclear Warning ${JSON.stringify(message.slice(0, 300))}`);
      expect((await kit.readClaim(c.name)).status?.phase).toBe('Pending');
    }
    const bad = new Set(claims.map((c) => c.name));
    expect((await kit.pvs()).filter((pv) => bad.has(pv.spec?.claimRef?.name ?? ''))).toEqual([]);
    for (const name of tiny) {
      const pv = await kit.boundPv(name, 30_000);
      expect(pv.spec?.capacity?.storage).toBeDefined();
    }
    for (const p of procs) expect(p.running).toBe(true);
  }, 120_000);

  it('every bad VolumeAttachment ends with a clear attachError and is never attached', async () => {
    const rng = seededRandom(SEED + 1);
    const node = clusterInfo().nodeNames[0]!;
    const sources: { what: string; source: Record<string, unknown> }[] = [
      { what: 'missing PV', source: { persistentVolumeName: `e2e-fuzz-missing-${rng.chars(8, 'abcdef0123')}` } },
      { what: 'inline spec, impossible access modes', source: { inlineVolumeSpec: { accessModes: ['ReadWriteOnce', 'ReadOnlyMany'], csi: { driver: DRIVER_NAME, volumeHandle: rng.garbage(100) || 'h' } } } },
      { what: 'inline spec, garbage handle', source: { inlineVolumeSpec: { accessModes: ['ReadWriteOnce'], csi: { driver: DRIVER_NAME, volumeHandle: `${rng.garbage(200)}-nope` } } } },
      { what: 'inline spec without a CSI source', source: { inlineVolumeSpec: { accessModes: ['ReadWriteOnce'] } } },
      // The driver's NotFound echoes the ID: without cutting the message, the API refuses the attachError.
      { what: 'inline spec, huge handle', source: { inlineVolumeSpec: { accessModes: ['ReadWriteOnce'], csi: { driver: DRIVER_NAME, volumeHandle: `huge-${'h'.repeat(rng.int(2000, 8000))}` } } } },
    ];
    const accepted: { name: string; what: string }[] = [];
    for (const [i, s] of sources.entries()) {
      const name = `e2e-fuzz-va-${i}-${SEED % 10_000}`;
      const ok = await created(`VolumeAttachment (${s.what})`, () => kit.kube.storage.createVolumeAttachment({ body: { metadata: { name }, spec: { attacher: DRIVER_NAME, nodeName: node, source: s.source } } }));
      if (!ok) continue;
      vas.push(name);
      accepted.push({ name, what: s.what });
    }
    expect(accepted.length).toBeGreaterThanOrEqual(3);
    for (const va of accepted) {
      const status = await waitFor(`attachError on ${va.name} (${va.what})`, async () => {
        const v = await kit.kube.storage.readVolumeAttachment({ name: va.name });
        return v.status?.attachError?.message ? v.status : undefined;
      }, { timeoutMs: 30_000, intervalMs: 300 });
      expect(status.attached).toBe(false);
      expect(status.attachError!.message!.length).toBeGreaterThan(10);
    }
    for (const p of procs) expect(p.running).toBe(true);
  }, 90_000);

  it('still provisions, attaches and expands a good claim with planted secrets afterwards', async () => {
    const creds = { provisioner: 'e2e-fuzz-prov-creds', publish: 'e2e-fuzz-publish-creds', expand: 'e2e-fuzz-expand-creds' };
    await plantSecret(kit.kube, NS, creds.provisioner, { username: secretValue('fuzz-user'), password: secretValue('fuzz-password') });
    await plantSecret(kit.kube, NS, creds.publish, { token: secretValue('fuzz-publish-token') });
    await plantSecret(kit.kube, NS, creds.expand, { key: secretValue('fuzz-expand-key') });
    await kit.storageClass(SC_SECRETS, DRIVER_NAME, {
      allowVolumeExpansion: true,
      parameters: {
        [`${P}/provisioner-secret-name`]: creds.provisioner,
        [`${P}/provisioner-secret-namespace`]: '${pvc.namespace}',
        [`${P}/controller-publish-secret-name`]: creds.publish,
        [`${P}/controller-publish-secret-namespace`]: NS,
        [`${P}/controller-expand-secret-name`]: creds.expand,
        [`${P}/controller-expand-secret-namespace`]: NS,
      },
    });
    await kit.claim('good', SC_SECRETS);
    const pv = await kit.boundPv('good', 60_000);
    await kit.pod('good-pod', ['good'], clusterInfo().nodeNames[0]);
    await waitFor('the good volume attached', async () => {
      const list = await kit.kube.storage.listVolumeAttachment();
      return list.items.some((va) => va.spec.source.persistentVolumeName === pv.metadata!.name && va.status?.attached);
    }, { timeoutMs: 60_000, intervalMs: 300 });
    await kit.kube.core.patchNamespacedPersistentVolumeClaim({ name: 'good', namespace: NS, body: { spec: { resources: { requests: { storage: '2Gi' } } } } }, mergePatch);
    await waitFor('the good claim expanded', async () => (await kit.readClaim('good')).status?.capacity?.storage === '2Gi', { timeoutMs: 60_000, intervalMs: 300 });
    for (const p of procs) expect(p.running).toBe(true);
  }, 120_000);
});
