import { describe, expect, it } from '@jest/globals';
import { containsInt64, int64ToBigint, int64ToWire } from './int64.js';
import { csiSchema } from './schema.js';

const schema = csiSchema();
const type = (name: string) => schema.messageType(name);

describe('int64ToBigint', () => {
  it('converts int64 fields at any depth: nested, repeated, wrappers, timestamps', () => {
    const wire = {
      entries: [
        { volume: { capacity_bytes: '9007199254740993', volume_id: 'a', volume_context: {} }, status: null },
        { volume: { capacity_bytes: '0', volume_id: 'b', volume_context: {} }, status: null },
      ],
      next_token: '',
    };
    expect(int64ToBigint(type('ListVolumesResponse'), wire)).toEqual({
      entries: [
        { volume: { capacity_bytes: 9007199254740993n, volume_id: 'a', volume_context: {} }, status: null },
        { volume: { capacity_bytes: 0n, volume_id: 'b', volume_context: {} }, status: null },
      ],
      next_token: '',
    });
    expect(
      int64ToBigint(type('GetCapacityResponse'), {
        available_capacity: '1',
        maximum_volume_size: { value: '9223372036854775807' },
        minimum_volume_size: null,
      }),
    ).toEqual({ available_capacity: 1n, maximum_volume_size: { value: 9223372036854775807n }, minimum_volume_size: null });
    expect(
      int64ToBigint(type('CreateSnapshotResponse'), { snapshot: { size_bytes: '-1', creation_time: { seconds: '1700000000', nanos: 5 } } }),
    ).toEqual({ snapshot: { size_bytes: -1n, creation_time: { seconds: 1700000000n, nanos: 5 } } });
  });

  it('returns messages without 64-bit fields untouched, and keeps unknown keys', () => {
    const info = { name: 'x', vendor_version: '1', manifest: { a: 'b' } };
    expect(int64ToBigint(type('GetPluginInfoResponse'), info)).toBe(info);
    expect(containsInt64(type('GetPluginInfoResponse'))).toBe(false);
    expect(containsInt64(type('ListVolumesResponse'))).toBe(true);
    expect(int64ToBigint(type('Volume'), { capacity_bytes: '1', extra: 'kept' })).toEqual({ capacity_bytes: 1n, extra: 'kept' });
  });

  it('names the field when the wire value is not an integer', () => {
    expect(() => int64ToBigint(type('Volume'), { capacity_bytes: 'lots' })).toThrow(
      'Volume.capacity_bytes: expected a 64-bit integer, got "lots"',
    );
  });
});

describe('int64ToWire', () => {
  it('turns bigint (and safe integers) into decimal strings', () => {
    expect(
      int64ToWire(type('CreateVolumeRequest'), {
        name: 'v',
        capacity_range: { required_bytes: 2n ** 63n - 1n, limit_bytes: 10 },
      }),
    ).toEqual({ name: 'v', capacity_range: { required_bytes: '9223372036854775807', limit_bytes: '10' } });
  });

  it('rejects values that do not fit, naming the field', () => {
    expect(() => int64ToWire(type('CapacityRange'), { required_bytes: 2n ** 63n })).toThrow(
      'CapacityRange.required_bytes: 9223372036854775808 is out of range for int64',
    );
    expect(() => int64ToWire(type('google.protobuf.UInt64Value'), { value: -1n })).toThrow('UInt64Value.value: -1 is out of range for uint64');
    expect(() => int64ToWire(type('CapacityRange'), { required_bytes: 2 ** 60 })).toThrow(
      'CapacityRange.required_bytes: 1152921504606847000 is not an exact integer; pass 64-bit values as bigint',
    );
    expect(() => int64ToWire(type('CapacityRange'), { limit_bytes: {} })).toThrow('CapacityRange.limit_bytes: expected a bigint, got an object');
  });

  it('survives a real encode/decode with the proto-loader serializers', () => {
    const method = schema.method('Controller', 'ControllerExpandVolume');
    const request = { volume_id: 'v', capacity_range: { required_bytes: 2n ** 53n + 1n, limit_bytes: 0n } };
    const bytes = method.definition.requestSerialize(int64ToWire(method.requestType, request));
    const decoded = int64ToBigint(method.requestType, method.definition.requestDeserialize(bytes)) as typeof request;
    expect(decoded.capacity_range).toEqual({ required_bytes: 9007199254740993n, limit_bytes: 0n });
  });
});
