// Property-style fuzzing of the provisioner's pure decisions over bad user input (seeded; the seed
// is printed, replay with CSI_FUZZ_SEED=<seed>): StorageClass parameters with random keys, keys in
// the reserved csi.storage.k8s.io/ namespace, malformed templates, huge and unicode values; claim
// sizes; garbage annotations. Each function either answers or throws its own error type with a
// message that names what is wrong — never a TypeError or RangeError from deep inside.
import { describe, expect, it } from '@jest/globals';
import { QuantityParseError, parseQuantity, type PersistentVolumeClaim, type StorageClass } from '@csi-sidecars-ts/shared';
import { fuzzSeed, seededRandom, type SeededRandom } from '@csi-sidecars-ts/shared/testing';
import { decideClaim, selectedNodeOf } from './claim-decision.js';
import { CSI_PARAMETER_PREFIX } from './constants.js';
import { ParameterError, RESERVED_PARAMETER_KEYS, fsTypeFromParameters, stripReservedParameters } from './parameters.js';
import { ALL_SECRET_PARAMS, SecretParameterError, secretReference } from './secrets.js';
import { isDns1123Label, isDns1123Subdomain } from './template.js';

const SEED = fuzzSeed();
const ROUNDS = 400;
process.stdout.write(`provisioner fuzz seed ${SEED} (replay: CSI_FUZZ_SEED=${SEED})\n`);

const RESERVED = [...RESERVED_PARAMETER_KEYS];
const TEMPLATES = ['${pvc.name}', '${pvc.namespace}', '${pv.name}', "${pvc.annotations['team']}", '${pvc.label}', '${', '$${pv.name}', '${pvc.annotations[team]}', 'ok-name'];

function key(rng: SeededRandom): string {
  switch (rng.int(0, 4)) {
    case 0:
      return rng.pick(RESERVED);
    case 1:
      return `${CSI_PARAMETER_PREFIX}${rng.garbage(30)}`;
    case 2:
      return rng.pick(['fstype', 'FsType', 'FSTYPE', 'csiProvisionerSecretName', 'csiProvisionerSecretNamespace']);
    default:
      return rng.garbage(60);
  }
}

function value(rng: SeededRandom): string {
  switch (rng.int(0, 3)) {
    case 0:
      return rng.pick(TEMPLATES);
    case 1:
      return `${rng.pick(TEMPLATES)}${rng.garbage(10)}${rng.pick(TEMPLATES)}`;
    default:
      return rng.garbage(400);
  }
}

function parameters(rng: SeededRandom): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = rng.int(0, 8); i > 0; i--) out[key(rng)] = value(rng);
  return out;
}

function annotations(rng: SeededRandom): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = rng.int(0, 4); i > 0; i--) out[rng.pick(['team', 'volume.kubernetes.io/selected-node', 'volume.beta.kubernetes.io/storage-class', rng.garbage(40)])] = rng.garbage(2000);
  return out;
}

/** Only the function's own error type, with a message. */
function expectOwnError(fn: () => unknown, type: new (...a: never[]) => Error): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message.length).toBeGreaterThan(10);
  }
}

describe(`provisioner input fuzzing (seed ${SEED})`, () => {
  it('strips reserved parameters or names the unknown reserved key; nothing reserved reaches the driver', () => {
    const rng = seededRandom(SEED);
    for (let i = 0; i < ROUNDS; i++) {
      const params = parameters(rng);
      try {
        const out = stripReservedParameters(params);
        expect(Object.keys(out).filter((k) => k.startsWith(CSI_PARAMETER_PREFIX))).toEqual([]);
        for (const [k, v] of Object.entries(params)) if (!k.startsWith(CSI_PARAMETER_PREFIX)) expect(out[k]).toBe(v);
      } catch (err) {
        expect(err).toBeInstanceOf(ParameterError);
        const unknown = Object.keys(params).find((k) => k.startsWith(CSI_PARAMETER_PREFIX) && !RESERVED_PARAMETER_KEYS.has(k));
        expect((err as Error).message).toBe(`found unknown parameter key "${unknown}" with reserved namespace ${CSI_PARAMETER_PREFIX}`);
      }
      expectOwnError(() => fsTypeFromParameters(params, rng.pick(['', 'ext4'])), ParameterError);
    }
  });

  it('resolves every secret kind to a valid name and namespace, or says which template is wrong', () => {
    const rng = seededRandom(SEED + 1);
    for (let i = 0; i < ROUNDS; i++) {
      const params = parameters(rng);
      // Make the secret keys likely: a few well-formed and malformed pairs.
      for (const s of rng.shuffle(ALL_SECRET_PARAMS).slice(0, rng.int(0, 3))) {
        params[s.nameKey] = value(rng);
        if (rng.bool(0.8)) params[s.namespaceKey] = value(rng);
      }
      const claim = rng.bool(0.9) ? { name: rng.pick(['db', rng.garbage(80)]), namespace: rng.pick(['ns', rng.garbage(80)]), annotations: annotations(rng) } : undefined;
      for (const secret of ALL_SECRET_PARAMS) {
        try {
          const ref = secretReference(secret, params, { pvName: `pvc-${i}`, ...(claim ? { claim } : {}) });
          if (ref) {
            expect(isDns1123Label(ref.namespace)).toBe(true);
            expect(isDns1123Subdomain(ref.name)).toBe(true);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(SecretParameterError);
          expect((err as Error).message.length).toBeGreaterThan(10);
        }
      }
    }
  });

  it('parses any claim size into an int64 byte count or refuses it with a QuantityParseError/RangeError naming it', () => {
    const rng = seededRandom(SEED + 2);
    const absurd = ['0', '-1', '-1Gi', '1e30', '1E30', '0.5', '1m', '1n', '1.5Ki', '9223372036854775807', '9223372036854775808', '1Ei', '16Ei', '+1Gi', '1gi', '1 Gi', '', '0x10', 'NaN', '1e-30', '.5', '5.'];
    for (let i = 0; i < ROUNDS; i++) {
      const s = rng.bool(0.5) ? rng.pick(absurd) : rng.bool() ? `${rng.int(-5, 5)}${rng.pick(['', '.', 'e', 'E'])}${rng.int(0, 40)}${rng.pick(['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'k', 'M', 'G', 'm', 'n', 'u'])}` : rng.garbage(30);
      let q;
      try {
        q = parseQuantity(s);
      } catch (err) {
        expect(err).toBeInstanceOf(QuantityParseError);
        continue;
      }
      try {
        const bytes = q.int64Value();
        expect(bytes <= 2n ** 63n - 1n && bytes >= -(2n ** 63n)).toBe(true);
        // Fractional bytes round up, as in Kubernetes: never a smaller volume than asked for.
        if (q.sign() > 0) expect(bytes).toBeGreaterThanOrEqual(1n);
      } catch (err) {
        expect(err).toBeInstanceOf(RangeError);
        expect((err as Error).message).toContain('does not fit in a signed 64-bit integer');
      }
    }
  });

  it('decides on claims with garbage annotations without throwing', () => {
    const rng = seededRandom(SEED + 3);
    const driver = 'fuzz.csi.test';
    const sc: StorageClass = { metadata: { name: 'sc' }, provisioner: driver, volumeBindingMode: 'WaitForFirstConsumer' };
    for (let i = 0; i < ROUNDS; i++) {
      const ann = annotations(rng);
      if (rng.bool()) ann['volume.kubernetes.io/storage-provisioner'] = rng.bool() ? driver : rng.garbage(50);
      const claim: PersistentVolumeClaim = { metadata: { name: 'c', namespace: 'ns', uid: `u${i}`, annotations: ann }, spec: { storageClassName: rng.pick(['sc', rng.garbage(50)]) } };
      const d = decideClaim({ claim, driverName: driver, knownProvisioners: new Set([driver]), storageClass: (n) => (n === 'sc' ? sc : undefined) });
      expect(['skip', 'retry', 'provision']).toContain(d.action);
      if (d.action === 'provision') expect(d.selectedNode).toBe(selectedNodeOf(claim));
      if (d.action !== 'provision') expect(d.reason.length).toBeGreaterThan(5);
    }
  });
});
