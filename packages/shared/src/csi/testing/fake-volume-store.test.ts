import { describe, expect, it } from '@jest/globals';
import { GrpcCode } from '../errors.js';
import type { CsiServerRequest } from '../types.js';
import { FakeVolumeStore, GiB } from './fake-volume-store.js';
import { GrpcStatusError } from './grpc-status.js';

type CreateReq = CsiServerRequest<'Controller', 'CreateVolume'>;

const cap = (mode = 'SINGLE_NODE_WRITER' as const) => ({
  mount: { fs_type: '', mount_flags: [], volume_mount_group: '' },
  access_mode: { mode },
  access_type: 'mount' as const,
});

function createReq(name: string, required = 0n, limit = 0n): CreateReq {
  return {
    name,
    capacity_range: { required_bytes: required, limit_bytes: limit },
    volume_capabilities: [cap()],
    parameters: {},
    secrets: {},
    volume_content_source: null,
    accessibility_requirements: null,
    mutable_parameters: {},
  };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof GrpcStatusError) return Object.entries(GrpcCode).find(([, c]) => c === err.code)?.[0] ?? String(err.code);
    throw err;
  }
  return 'OK';
}

describe('FakeVolumeStore', () => {
  it('creates volumes idempotently by name', () => {
    const store = new FakeVolumeStore();
    const a = store.createVolume(createReq('pvc-1', 2n * GiB));
    const again = store.createVolume(createReq('pvc-1', 2n * GiB));
    expect(again).toEqual(a);
    expect(store.size).toBe(1);
    expect(code(() => store.createVolume(createReq('pvc-1', 3n * GiB)))).toBe('AlreadyExists');
  });

  it('validates requests and capacity', () => {
    const store = new FakeVolumeStore({ totalCapacity: 10n * GiB, maximumVolumeSize: 8n * GiB });
    expect(code(() => store.createVolume(createReq('')))).toBe('InvalidArgument');
    expect(code(() => store.createVolume({ ...createReq('x'), volume_capabilities: [] }))).toBe('InvalidArgument');
    expect(code(() => store.createVolume(createReq('x', 5n, 4n)))).toBe('InvalidArgument');
    expect(code(() => store.createVolume(createReq('x', 9n * GiB)))).toBe('OutOfRange');
    store.createVolume(createReq('a', 6n * GiB));
    expect(code(() => store.createVolume(createReq('b', 6n * GiB)))).toBe('ResourceExhausted');
    expect(store.getCapacity({ volume_capabilities: [], parameters: {}, accessible_topology: null })).toEqual({
      available_capacity: 4n * GiB,
      maximum_volume_size: { value: 8n * GiB },
    });
  });

  it('uses the default size, capped by limit_bytes', () => {
    const store = new FakeVolumeStore();
    expect(store.createVolume(createReq('a')).volume?.capacity_bytes).toBe(GiB);
    expect(store.createVolume(createReq('b', 0n, 1000n)).volume?.capacity_bytes).toBe(1000n);
  });

  it('publishes and unpublishes following the spec', () => {
    const store = new FakeVolumeStore({ maxVolumesPerNode: 1 });
    const id = store.createVolume(createReq('a')).volume?.volume_id as string;
    const publish = (node: string, readonly = false) =>
      store.publish({ volume_id: id, node_id: node, volume_capability: cap(), readonly, secrets: {}, volume_context: {} });
    expect(publish('n1')).toEqual({ publish_context: { devicePath: `/dev/fake/${id}` } });
    expect(code(() => publish('n1'))).toBe('OK');
    expect(code(() => publish('n1', true))).toBe('AlreadyExists');
    expect(code(() => publish('n2'))).toBe('FailedPrecondition');
    expect(code(() => store.publish({ volume_id: 'nope', node_id: 'n1', volume_capability: cap(), readonly: false, secrets: {}, volume_context: {} }))).toBe(
      'NotFound',
    );
    expect(code(() => store.deleteVolume({ volume_id: id, secrets: {} }))).toBe('FailedPrecondition');
    store.unpublish({ volume_id: id, node_id: 'n1', secrets: {} });
    expect(code(() => store.unpublish({ volume_id: 'unknown', node_id: 'n1', secrets: {} }))).toBe('OK');
    expect(store.deleteVolume({ volume_id: id, secrets: {} })).toEqual({});
    expect(store.deleteVolume({ volume_id: id, secrets: {} })).toEqual({});
  });

  it('limits volumes per node', () => {
    const store = new FakeVolumeStore({ maxVolumesPerNode: 1 });
    store.seed({ volumeId: 'a', publishedTo: ['n1'] });
    store.seed({ volumeId: 'b' });
    expect(code(() => store.publish({ volume_id: 'b', node_id: 'n1', volume_capability: cap(), readonly: false, secrets: {}, volume_context: {} }))).toBe(
      'ResourceExhausted',
    );
  });

  it('expands volumes, never shrinks them', () => {
    const store = new FakeVolumeStore({ nodeExpansionRequired: false });
    store.seed({ volumeId: 'a', capacityBytes: 2n * GiB });
    const expand = (required: bigint) =>
      store.expand({ volume_id: 'a', capacity_range: { required_bytes: required, limit_bytes: 0n }, secrets: {}, volume_capability: null });
    expect(expand(5n * GiB)).toEqual({ capacity_bytes: 5n * GiB, node_expansion_required: false });
    expect(expand(GiB)).toEqual({ capacity_bytes: 5n * GiB, node_expansion_required: false });
    expect(code(() => store.expand({ volume_id: 'x', capacity_range: null, secrets: {}, volume_capability: null }))).toBe('NotFound');
  });

  it('pages ListVolumes and rejects bad tokens with ABORTED', () => {
    const store = new FakeVolumeStore();
    for (const id of ['a', 'b', 'c']) store.seed({ volumeId: id });
    const page = store.list({ max_entries: 2, starting_token: '' });
    expect(page.entries?.map((e) => e.volume?.volume_id)).toEqual(['a', 'b']);
    expect(page.next_token).toBe('2');
    expect(store.list({ max_entries: 0, starting_token: '2' }).entries?.map((e) => e.volume?.volume_id)).toEqual(['c']);
    expect(code(() => store.list({ max_entries: 0, starting_token: 'bogus' }))).toBe('Aborted');
    expect(code(() => store.list({ max_entries: -1, starting_token: '' }))).toBe('InvalidArgument');
  });
});
