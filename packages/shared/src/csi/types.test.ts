// The friendly types are checked by the compiler (tsconfig.check.json includes tests): the
// assignments and @ts-expect-error lines below fail the type-check if a 64-bit field stops being
// bigint or another field becomes one. At run time the same values go through the real codec.
import { describe, expect, it } from '@jest/globals';
import { int64ToBigint, int64ToWire } from './int64.js';
import { csiSchema } from './schema.js';
import type { CreateVolumeRequest, CsiResponse, GetCapacityResponse, ListVolumesResponse } from './types.js';

describe('friendly CSI types', () => {
  it('type 64-bit fields as bigint in requests and responses, and match what the codec produces', () => {
    const request: CreateVolumeRequest = {
      name: 'pvc-1',
      capacity_range: { required_bytes: 2n ** 53n + 1n },
      volume_capabilities: [{ mount: { fs_type: 'xfs' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
    };
    // @ts-expect-error a 64-bit field takes bigint, not a string
    const wrong: CreateVolumeRequest = { capacity_range: { required_bytes: '5' } };
    // @ts-expect-error a string field does not become bigint
    const wrongName: CreateVolumeRequest = { name: 5n };
    void wrong;
    void wrongName;

    const method = csiSchema().method('Controller', 'CreateVolume');
    const bytes = method.definition.requestSerialize(int64ToWire(method.requestType, request));
    const echoed = int64ToBigint(method.requestType, method.definition.requestDeserialize(bytes)) as CreateVolumeRequest;
    const required: bigint | undefined = echoed.capacity_range?.required_bytes;
    expect(required).toBe(9007199254740993n);

    const capacity = int64ToBigint(csiSchema().messageType('GetCapacityResponse'), {
      available_capacity: '10',
      maximum_volume_size: { value: '20' },
      minimum_volume_size: null,
    }) as GetCapacityResponse;
    const available: bigint = capacity.available_capacity;
    const maximum: bigint | undefined = capacity.maximum_volume_size?.value;
    expect([available, maximum]).toEqual([10n, 20n]);

    const list = int64ToBigint(csiSchema().messageType('ListVolumesResponse'), {
      entries: [
        {
          volume: { capacity_bytes: '7', volume_id: 'v', volume_context: {}, content_source: null, accessible_topology: [] },
          status: null,
        },
      ],
      next_token: '',
    }) as ListVolumesResponse;
    const size: bigint | undefined = list.entries[0]?.volume?.capacity_bytes;
    const id: string | undefined = list.entries[0]?.volume?.volume_id;
    expect([size, id]).toEqual([7n, 'v']);

    const nodeInfo = int64ToBigint(csiSchema().messageType('NodeGetInfoResponse'), {
      node_id: 'n',
      max_volumes_per_node: '39',
      accessible_topology: null,
    }) as CsiResponse<'Node', 'NodeGetInfo'>;
    const max: bigint = nodeInfo.max_volumes_per_node;
    expect(max).toBe(39n);
  });
});
