// CsiResizer / CsiModifier against the fake CSI plugin over a real unix socket.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CsiCallError, CsiConnection, GrpcCode, KubeApiError } from '@csi-sidecars-ts/shared';
import { FakeCsiPlugin, GiB } from '@csi-sidecars-ts/shared/testing';
import type { PersistentVolume, Secret } from '@csi-sidecars-ts/shared';
import { boundPair, q, TEST_DRIVER } from '../testing/fakes.js';
import { classifyFailure, InfeasibleResizeError } from './errors.js';
import { CsiModifier } from './volume-modifier.js';
import { CsiResizer, NodeOnlyResizer } from './volume-resizer.js';

let plugin: FakeCsiPlugin;
let conn: CsiConnection;

const secrets = new Map<string, Secret>([
  ['kube-system/expand', { data: { user: Buffer.from('admin').toString('base64') } }],
  ['kube-system/modify', { data: { token: Buffer.from('t0k').toString('base64') } }],
]);
const secretSource = {
  getSecret: async (ns: string, name: string) => {
    const s = secrets.get(`${ns}/${name}`);
    if (!s) throw new KubeApiError(404, 'NotFound', `secrets "${name}" not found`);
    return s;
  },
};

beforeAll(async () => {
  plugin = await FakeCsiPlugin.start({ driverName: TEST_DRIVER, store: { maximumVolumeSize: 100n * GiB } });
  conn = new CsiConnection({ address: plugin.address, timeoutMs: 5000, probeIntervalMs: 20, onConnectionLost: () => undefined });
  await conn.start();
});

afterAll(async () => {
  conn.dispose();
  await plugin.dispose();
});

beforeEach(() => {
  plugin.resetHandlers();
  plugin.clearCalls();
});

function volume(id: string, over: (pv: PersistentVolume) => void = () => undefined): PersistentVolume {
  plugin.store.seed({ volumeId: id, capacityBytes: GiB });
  const { pv } = boundPair({ name: id, request: '1Gi', capacity: '1Gi', volumeHandle: id });
  over(pv);
  return pv;
}

const resizer = (singleNodeMultiWriter = false) =>
  new CsiResizer({ driverName: TEST_DRIVER, client: conn.controller, secrets: secretSource, singleNodeMultiWriter });

describe('CsiResizer', () => {
  it('sends ControllerExpandVolume like the Go resizer and returns the new size as a BinarySI quantity', async () => {
    const pv = volume('v1', (p) => {
      p.spec!.csi!.fsType = 'ext4';
      p.spec!.mountOptions = ['noatime'];
      p.spec!.csi!.controllerExpandSecretRef = { name: 'expand', namespace: 'kube-system' };
    });
    const result = await resizer().resize(pv, q('2Gi'));
    expect(result.nodeExpansionRequired).toBe(true);
    expect(result.size.toString()).toBe('2Gi');
    const [call] = plugin.callsTo('ControllerExpandVolume');
    expect(call!.request).toMatchObject({
      volume_id: 'v1',
      capacity_range: { required_bytes: 2n * GiB, limit_bytes: 0n },
      secrets: { user: 'admin' },
      volume_capability: { mount: { fs_type: 'ext4', mount_flags: ['noatime'] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } },
    });
  });

  it('block volumes and the SINGLE_NODE_MULTI_WRITER access mode', async () => {
    const pv = volume('v2', (p) => (p.spec!.volumeMode = 'Block'));
    await resizer(true).resize(pv, q('2Gi'));
    const [call] = plugin.callsTo('ControllerExpandVolume');
    expect(call!.request.volume_capability).toMatchObject({ block: {}, access_mode: { mode: 'SINGLE_NODE_MULTI_WRITER' } });
  });

  it('passes the driver error through: OutOfRange for an absurd size', async () => {
    const pv = volume('v3');
    const err = await resizer().resize(pv, q('100Ti')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiCallError);
    expect((err as CsiCallError).code).toBe(GrpcCode.OutOfRange);
  });

  it('refuses a size that does not fit an int64 without calling the driver', async () => {
    const pv = volume('v4');
    await expect(resizer().resize(pv, q('1e30'))).rejects.toThrow(InfeasibleResizeError);
    expect(plugin.callsTo('ControllerExpandVolume')).toHaveLength(0);
    // Binary sizes are clamped to 2^63-1 when parsed (as in apimachinery): the driver judges them.
    await expect(resizer().resize(pv, q('100Ei'))).rejects.toThrow('OutOfRange');
    expect(plugin.callsTo('ControllerExpandVolume')[0]!.request.capacity_range!.required_bytes).toBe(2n ** 63n - 1n);
  });

  it('a driver answering 0 bytes, or less than asked, is an infeasible error (not a PV patch loop)', async () => {
    const pv = volume('v5');
    plugin.respond('ControllerExpandVolume', { capacity_bytes: 0n, node_expansion_required: false });
    await expect(resizer().resize(pv, q('2Gi'))).rejects.toThrow(
      `CSI driver ${TEST_DRIVER} answered ControllerExpandVolume for volume v5 with capacity_bytes 0; the CSI spec requires the capacity after expansion (at least the requested 2147483648 bytes)`,
    );
    plugin.respond('ControllerExpandVolume', { capacity_bytes: GiB, node_expansion_required: false });
    await expect(resizer().resize(pv, q('2Gi'))).rejects.toThrow(InfeasibleResizeError);
  });

  it('clear errors for a missing secret, an empty handle and a non-CSI volume', async () => {
    const withSecret = volume('v6', (p) => (p.spec!.csi!.controllerExpandSecretRef = { name: 'nope', namespace: 'kube-system' }));
    await expect(resizer().resize(withSecret, q('2Gi'))).rejects.toThrow('error getting secret nope in namespace kube-system');
    const noHandle = volume('v7', (p) => (p.spec!.csi!.volumeHandle = ''));
    await expect(resizer().resize(noHandle, q('2Gi'))).rejects.toThrow('empty volume handle');
    const inTree = volume('v8', (p) => {
      delete p.spec!.csi;
      p.spec!.nfs = { server: 's', path: '/p' };
    });
    await expect(resizer().resize(inTree, q('2Gi'))).rejects.toThrow('volume pv-v8 is not migrated to CSI');
    expect(plugin.callsTo('ControllerExpandVolume')).toHaveLength(0);
  });

  it('translates an in-tree EBS volume for the EBS CSI driver', async () => {
    plugin.store.seed({ volumeId: 'vol-0abc', capacityBytes: GiB });
    const { pv } = boundPair({ name: 'ebs', request: '2Gi', capacity: '1Gi' });
    delete pv.spec!.csi;
    pv.spec!.awsElasticBlockStore = { volumeID: 'aws://us-east-1a/vol-0abc', fsType: 'xfs' };
    const ebs = new CsiResizer({ driverName: 'ebs.csi.aws.com', client: conn.controller, secrets: secretSource, singleNodeMultiWriter: false });
    await ebs.resize(pv, q('2Gi'));
    expect(plugin.callsTo('ControllerExpandVolume')[0]!.request).toMatchObject({ volume_id: 'vol-0abc', volume_capability: { mount: { fs_type: 'xfs' } } });
  });
});

describe('NodeOnlyResizer', () => {
  it('answers the requested size with the node step required, without a CSI call', async () => {
    const r = new NodeOnlyResizer(TEST_DRIVER);
    expect(r.controllerExpansion).toBe(false);
    const result = await r.resize(volume('n1'), q('3Gi'));
    expect([result.size.toString(), result.nodeExpansionRequired]).toEqual(['3Gi', true]);
    expect(plugin.callsTo('ControllerExpandVolume')).toHaveLength(0);
  });
});

describe('CsiModifier', () => {
  const modifier = () => new CsiModifier({ driverName: TEST_DRIVER, client: conn.controller, secrets: secretSource });

  it('sends the mutable parameters with the controller-modify secret from the PV annotations', async () => {
    const pv = volume('m1', (p) => {
      p.metadata!.annotations = {
        'volume.kubernetes.io/controller-modify-secret-name': 'modify',
        'volume.kubernetes.io/controller-modify-secret-namespace': 'kube-system',
      };
      p.spec!.csi!.controllerExpandSecretRef = { name: 'expand', namespace: 'kube-system' };
    });
    await modifier().modify(pv, { iops: '3000' });
    expect(plugin.callsTo('ControllerModifyVolume')[0]!.request).toMatchObject({ volume_id: 'm1', secrets: { token: 't0k' }, mutable_parameters: { iops: '3000' } });
    expect(plugin.store.get('m1')!.mutableParameters).toEqual({ iops: '3000' });
  });

  it('falls back to the expand secret, and to none', async () => {
    const pv = volume('m2', (p) => (p.spec!.csi!.controllerExpandSecretRef = { name: 'expand', namespace: 'kube-system' }));
    await modifier().modify(pv, {});
    expect(plugin.callsTo('ControllerModifyVolume')[0]!.request.secrets).toEqual({ user: 'admin' });
    await modifier().modify(volume('m3'), {});
    expect(plugin.callsTo('ControllerModifyVolume')[1]!.request.secrets).toEqual({});
  });

  it('refuses non-CSI volumes', async () => {
    const pv = volume('m4', (p) => delete p.spec!.csi);
    await expect(modifier().modify(pv, {})).rejects.toThrow('modify volume feature only supports CSI volumes');
  });
});

describe('CsiResizer with a misbehaving driver', () => {
  it('a hanging call ends with DeadlineExceeded (not final: the claim stays in progress)', async () => {
    const quick = new CsiConnection({ address: plugin.address, timeoutMs: 200, probeIntervalMs: 20, onConnectionLost: () => undefined });
    await quick.start();
    try {
      const held = plugin.hang('ControllerExpandVolume');
      const r = new CsiResizer({ driverName: TEST_DRIVER, client: quick.controller, secrets: secretSource, singleNodeMultiWriter: false });
      const err = await r.resize(volume('h1'), q('2Gi')).catch((e: unknown) => e);
      held.release();
      expect(err).toBeInstanceOf(CsiCallError);
      expect((err as CsiCallError).codeName).toBe('DeadlineExceeded');
      expect(classifyFailure(err)).toEqual({ final: false, infeasible: false, inUse: false });
    } finally {
      quick.dispose();
    }
  });

  it('garbage bytes are a final (not infeasible) failure; an empty answer is the 0-bytes error', async () => {
    plugin.garbage('ControllerExpandVolume', 'bytes');
    const bytes = await resizer().resize(volume('g1'), q('2Gi')).catch((e: unknown) => e);
    expect(classifyFailure(bytes)).toMatchObject({ final: true, infeasible: false });
    plugin.garbage('ControllerExpandVolume', 'empty');
    const empty = await resizer().resize(volume('g2'), q('2Gi')).catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(InfeasibleResizeError);
    expect((empty as Error).message).toContain('with capacity_bytes 0');
  });
});
