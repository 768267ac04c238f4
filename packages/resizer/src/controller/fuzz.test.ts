// Property-style fuzzing of the resizer's pure decisions over bad claims and volumes (seeded; the
// seed is printed, replay with CSI_FUZZ_SEED=<seed>): sizes that are absurd (0, 1e30, fractional
// bytes, negative) or not quantities at all, garbage resize statuses, PVs of other drivers or
// bound elsewhere. Reading a size either gives a Quantity or an error naming the object and
// field; the match checks always answer with a reason; the target choice always answers with one
// of its three kinds and never targets a size nobody asked for.
import { describe, expect, it } from '@jest/globals';
import { parseQuantity, type PersistentVolume, type PersistentVolumeClaim, type Quantity } from '@csi-sidecars-ts/shared';
import { fuzzSeed, seededRandom, type SeededRandom } from '@csi-sidecars-ts/shared/testing';
import { ResizeStatus } from '../constants.js';
import { allocatedSize, requestedSize, resizeStatusOf, statusCapacity, volumeCapacity } from './pvc-state.js';
import { chooseResizeTarget } from './resize-target.js';
import { canExpand, claimWantsResize } from './volume-match.js';

const SEED = fuzzSeed();
const ROUNDS = 400;
const DRIVER = 'fuzz.csi.test';
process.stdout.write(`resizer fuzz seed ${SEED} (replay: CSI_FUZZ_SEED=${SEED})\n`);

const SIZES = ['0', '1', '1Gi', '2Gi', '0.5', '1m', '1e30', '-1Gi', '1.5Gi', '9223372036854775807', '16Ei', '100Ti'];

function size(rng: SeededRandom): string | undefined {
  if (rng.bool(0.1)) return undefined;
  return rng.bool(0.8) ? rng.pick(SIZES) : rng.garbage(30);
}

function status(rng: SeededRandom): string {
  return rng.bool(0.8) ? rng.pick(['', ...Object.values(ResizeStatus)]) : rng.garbage(40);
}

function claim(rng: SeededRandom): PersistentVolumeClaim {
  const req = size(rng);
  const cap = size(rng);
  const alloc = size(rng);
  return {
    metadata: { name: 'c', namespace: 'ns', uid: rng.pick(['u1', 'u2']), annotations: rng.bool(0.2) ? { 'volume.kubernetes.io/storage-resizer': rng.garbage(30) } : {} },
    spec: { volumeName: rng.pick(['pv', '']), resources: { requests: req === undefined ? {} : { storage: req } } },
    status: {
      phase: rng.pick(['Bound', 'Pending', 'Lost', rng.garbage(10)]),
      capacity: cap === undefined ? {} : { storage: cap },
      ...(alloc === undefined ? {} : { allocatedResources: { storage: alloc } }),
      allocatedResourceStatuses: { storage: status(rng) },
    },
  } as PersistentVolumeClaim;
}

function volume(rng: SeededRandom): PersistentVolume {
  const cap = size(rng);
  return {
    metadata: { name: 'pv' },
    spec: {
      capacity: cap === undefined ? {} : { storage: cap },
      ...(rng.bool(0.8) ? { csi: { driver: rng.pick([DRIVER, rng.garbage(20)]), volumeHandle: rng.garbage(50) } } : {}),
      ...(rng.bool(0.8) ? { claimRef: { namespace: rng.pick(['ns', 'other']), name: 'c', uid: rng.pick(['u1', 'u2', rng.garbage(10)]) } } : {}),
    },
  } as PersistentVolume;
}

/** The value, or the error — which must name the object and the field it could not read. */
function read<T>(fn: () => T, field: string): T | undefined {
  try {
    return fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(field);
    expect((err as Error).message).toContain('is not a valid quantity');
    return undefined;
  }
}

function validQuantity(rng: SeededRandom): Quantity {
  return parseQuantity(rng.pick(SIZES.filter((s) => !s.startsWith('-'))));
}

describe(`resizer input fuzzing (seed ${SEED})`, () => {
  it('reads claim and volume sizes or names the field that is not a quantity; the match checks always give a reason', () => {
    const rng = seededRandom(SEED);
    for (let i = 0; i < ROUNDS; i++) {
      const pvc = claim(rng);
      const pv = volume(rng);
      read(() => requestedSize(pvc), 'PVC ns/c spec.resources.requests.storage');
      read(() => statusCapacity(pvc), 'PVC ns/c status.capacity.storage');
      read(() => allocatedSize(pvc), 'PVC ns/c status.allocatedResources.storage');
      read(() => volumeCapacity(pv), 'PV pv spec.capacity.storage');
      expect(typeof resizeStatusOf(pvc)).toBe('string');
      read(() => claimWantsResize(pvc), 'PVC ns/c');
      const m = canExpand(DRIVER, pv, pvc);
      if (!m.ok) expect(m.reason).toMatch(/^PV pv /);
    }
  });

  it('chooses a resize target among what was asked or committed, for any sizes and statuses', () => {
    const rng = seededRandom(SEED + 1);
    for (let i = 0; i < ROUNDS; i++) {
      const spec = validQuantity(rng);
      const pv = validQuantity(rng);
      const allocated = rng.bool(0.6) ? validQuantity(rng) : undefined;
      const d = chooseResizeTarget({
        spec,
        pv,
        allocated,
        status: status(rng),
        lastAttemptFinal: rng.bool(),
        controllerExpansion: rng.bool(0.8),
        fsResizePending: rng.bool(0.2),
        inSlowSet: rng.bool(0.2),
      });
      expect(['none', 'delay', 'expand']).toContain(d.kind);
      if (d.kind === 'expand') expect(d.target.equals(spec) || (allocated !== undefined && d.target.equals(allocated))).toBe(true);
      else expect(d.reason.length).toBeGreaterThan(5);
    }
  });
});
