// Property-style fuzzing of the attacher's pure decisions over bad VolumeAttachments (seeded; the
// seed is printed, replay with CSI_FUZZ_SEED=<seed>): sources with both, neither or garbage
// fields, inline specs without or with broken CSI sources, PVs that are missing, in-tree or
// half-empty, CSINodes and node-id annotations full of garbage. Each step either answers or
// throws its own error type (VolumeSourceError, AccessModeError, NodeIdError) with a message;
// what it answers is well-formed.
import { describe, expect, it } from '@jest/globals';
import {
  AccessModeError,
  createMigrationTranslator,
  type CSINode,
  type PersistentVolume,
  type VolumeAttachment,
} from '@csi-sidecars-ts/shared';
import { fuzzSeed, seededRandom, type SeededRandom } from '@csi-sidecars-ts/shared/testing';
import { VA_NODE_ID_ANNOTATION } from './names.js';
import { NodeIdError, resolveNodeId } from './node-id.js';
import { publishRequestOf, unpublishRequestOf } from './publish-request.js';
import { VolumeSourceError, csiVolumeOfInline, csiVolumeOfPv, pvNotFound, vaSourceOf, type CsiVolume, type PvSpec } from './volume-source.js';

const SEED = fuzzSeed();
const ROUNDS = 400;
const DRIVER = 'fuzz.csi.test';
process.stdout.write(`attacher fuzz seed ${SEED} (replay: CSI_FUZZ_SEED=${SEED})\n`);
const translator = createMigrationTranslator();

function accessModes(rng: SeededRandom): string[] | undefined {
  if (rng.bool(0.1)) return undefined;
  return Array.from({ length: rng.int(0, 3) }, () => rng.pick(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod', rng.garbage(20)]));
}

function csiSource(rng: SeededRandom): unknown {
  switch (rng.int(0, 3)) {
    case 0:
      return undefined;
    case 1:
      return {};
    case 2:
      return { driver: rng.pick([DRIVER, rng.garbage(50)]), volumeHandle: rng.garbage(300), fsType: rng.garbage(20), readOnly: rng.bool(), volumeAttributes: { [rng.garbage(30)]: rng.garbage(300) } };
    default:
      return { driver: DRIVER, volumeHandle: `vol-${rng.int(0, 99)}` };
  }
}

function pvSpec(rng: SeededRandom): PvSpec {
  const spec: Record<string, unknown> = { accessModes: accessModes(rng), csi: csiSource(rng) };
  if (rng.bool(0.3)) spec.volumeMode = rng.pick(['Block', 'Filesystem', rng.garbage(10)]);
  if (rng.bool(0.3)) spec.mountOptions = Array.from({ length: rng.int(0, 3) }, () => rng.garbage(50));
  // In-tree sources the translator may or may not handle, with garbage inside.
  if (rng.bool(0.2)) spec[rng.pick(['gcePersistentDisk', 'awsElasticBlockStore', 'azureDisk', 'cinder', 'hostPath'])] = rng.bool() ? {} : { pdName: rng.garbage(30), volumeID: rng.garbage(30), diskName: rng.garbage(10) };
  return spec as PvSpec;
}

function attachment(rng: SeededRandom): VolumeAttachment {
  const source: Record<string, unknown> = {};
  if (rng.bool(0.6)) source.persistentVolumeName = rng.pick(['pv-1', '', rng.garbage(300)]);
  if (rng.bool(0.4)) source.inlineVolumeSpec = rng.bool(0.2) ? {} : pvSpec(rng);
  const annotations: Record<string, string> = {};
  if (rng.bool(0.3)) annotations[VA_NODE_ID_ANNOTATION] = rng.garbage(200);
  return {
    metadata: { name: `va-${rng.int(0, 1e6)}`, annotations },
    spec: { attacher: DRIVER, nodeName: rng.pick(['node-1', rng.garbage(80)]), source: source as never },
  };
}

function csiNode(rng: SeededRandom): CSINode | undefined {
  if (rng.bool(0.3)) return undefined;
  const drivers = Array.from({ length: rng.int(0, 3) }, () => ({ name: rng.pick([DRIVER, rng.garbage(30)]), nodeID: rng.garbage(100), topologyKeys: [] }));
  return { metadata: { name: 'node-1' }, spec: { drivers } } as CSINode;
}

function expectOwn(err: unknown, ...types: (new (...a: never[]) => Error)[]): void {
  expect(types.some((t) => err instanceof t)).toBe(true);
  expect((err as Error).message.length).toBeGreaterThan(10);
}

describe(`attacher input fuzzing (seed ${SEED})`, () => {
  it('turns any VolumeAttachment source into a publish request or a clear error', () => {
    const rng = seededRandom(SEED);
    let published = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const va = attachment(rng);
      let volume: CsiVolume;
      try {
        const source = vaSourceOf(va);
        if (source.kind === 'inline') volume = csiVolumeOfInline(source.spec);
        else if (rng.bool(0.3)) throw pvNotFound(source.pvName);
        else volume = csiVolumeOfPv({ metadata: { name: source.pvName }, ...(rng.bool(0.9) ? { spec: pvSpec(rng) } : {}) } as PersistentVolume, translator);
      } catch (err) {
        expectOwn(err, VolumeSourceError);
        continue;
      }
      expect(volume.csi).toBeDefined();
      try {
        const req = publishRequestOf(volume, 'node-id', { password: 'x' }, { publishReadonly: rng.bool(), singleNodeMultiWriter: rng.bool() }, rng.pick(['', 'ext4']));
        published++;
        expect(req.volume_capability?.access_mode?.mode).toMatch(/^(SINGLE|MULTI)_NODE_/);
        expect(req.readonly === true || req.readonly === false).toBe(true);
        expect(unpublishRequestOf(volume, 'node-id', {}).volume_id).toBe(req.volume_id);
      } catch (err) {
        expectOwn(err, AccessModeError);
      }
    }
    // The generator must reach the publish step often enough to mean something.
    expect(published).toBeGreaterThan(ROUNDS / 20);
  });

  it('finds the node ID in CSINode or the VA annotation, or says which lookup failed', () => {
    const rng = seededRandom(SEED + 1);
    for (let i = 0; i < ROUNDS; i++) {
      const va = attachment(rng);
      const node = csiNode(rng);
      try {
        const id = resolveNodeId(DRIVER, va.spec?.nodeName ?? '', node, rng.bool() ? va : undefined);
        expect(typeof id).toBe('string');
      } catch (err) {
        expectOwn(err, NodeIdError);
        expect((err as Error).message).toMatch(/CSINode .* does not contain driver|csinode\.storage\.k8s\.io ".*" not found/s);
      }
    }
  });
});
