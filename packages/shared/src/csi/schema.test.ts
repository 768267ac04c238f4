import { existsSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { csiProtoPath } from './proto-path.js';
import { CSI_LOADER_OPTIONS, csiSchema } from './schema.js';

describe('csiSchema', () => {
  const schema = csiSchema();

  it('loads proto/csi.proto next to the package sources', () => {
    expect(csiProtoPath()).toMatch(/packages\/shared\/proto\/csi\.proto$/);
    expect(existsSync(csiProtoPath())).toBe(true);
    expect(csiSchema()).toBe(schema);
  });

  it('decodes with the documented proto-loader options', () => {
    expect(CSI_LOADER_OPTIONS).toEqual({ keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  });

  it('looks message types up by short, nested or full name', () => {
    expect(schema.messageType('Volume').fullName).toBe('.csi.v1.Volume');
    expect(schema.messageType('VolumeCapability.AccessMode').fullName).toBe('.csi.v1.VolumeCapability.AccessMode');
    expect(schema.messageType('.csi.v1.Topology').fullName).toBe('.csi.v1.Topology');
    expect(schema.messageType('google.protobuf.Int64Value').fullName).toBe('.google.protobuf.Int64Value');
    expect(() => schema.messageType('NoSuchThing')).toThrow();
  });

  it('describes methods with their gRPC path and types', () => {
    const m = schema.method('Controller', 'CreateVolume');
    expect(m.path).toBe('/csi.v1.Controller/CreateVolume');
    expect(m.requestType.name).toBe('CreateVolumeRequest');
    expect(m.responseType.name).toBe('CreateVolumeResponse');
    expect(m.streaming).toBe(false);
    expect(schema.method('SnapshotMetadata', 'GetMetadataDelta').streaming).toBe(true);
    expect(schema.methods('Identity').map((x) => x.name)).toEqual(['GetPluginInfo', 'GetPluginCapabilities', 'Probe']);
    expect(schema.methods('Node')).toHaveLength(8);
    expect(schema.methods('Controller')).toHaveLength(15);
    expect(schema.methods('GroupController')).toHaveLength(4);
    expect(() => schema.method('Controller', 'Nope')).toThrow('CSI service Controller has no method Nope');
  });

  it('decodes with defaults filled in, names for enums and oneof discriminators', () => {
    const m = schema.method('Controller', 'CreateVolume');
    const bytes = m.definition.requestSerialize({
      name: 'x',
      volume_capabilities: [{ block: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } }],
    });
    expect(m.definition.requestDeserialize(bytes)).toEqual({
      name: 'x',
      capacity_range: null,
      volume_capabilities: [{ block: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' }, access_type: 'block' }],
      parameters: {},
      secrets: {},
      volume_content_source: null,
      accessibility_requirements: null,
      mutable_parameters: {},
    });
  });
});

describe('CsiSchema method codecs (built from the one parsed root)', () => {
  const schema = csiSchema();
  const services = ['Identity', 'Controller', 'GroupController', 'Node', 'SnapshotMetadata'] as const;

  it('match proto-loader definitions in path, streaming and name for every method', () => {
    for (const service of services) {
      const loader = schema.serviceDefinition(service);
      const ours = schema.methods(service);
      expect(ours.map((m) => m.name).sort()).toEqual(Object.keys(loader).sort());
      for (const m of ours) {
        const def = loader[m.name]!;
        expect({ path: m.definition.path, req: m.definition.requestStream, res: m.definition.responseStream, name: m.definition.originalName }).toEqual({
          path: def.path,
          req: def.requestStream,
          res: def.responseStream,
          name: def.originalName,
        });
      }
    }
  });

  it('encode and decode exactly as proto-loader does', () => {
    const create = schema.method('Controller', 'CreateVolume');
    const loader = schema.serviceDefinition('Controller')['CreateVolume']!;
    const request = {
      name: 'pvc-1',
      capacity_range: { required_bytes: '1073741824', limit_bytes: '0' },
      volume_capabilities: [{ mount: { fs_type: 'ext4', mount_flags: ['ro'] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
      parameters: { a: 'b' },
      secrets: { token: 's' },
      accessibility_requirements: { requisite: [{ segments: { zone: 'z1' } }], preferred: [] },
    };
    const bytes = create.definition.requestSerialize(request);
    expect(bytes.equals(loader.requestSerialize(request))).toBe(true);
    expect(create.definition.requestDeserialize(bytes)).toEqual(loader.requestDeserialize(bytes));
    const response = { volume: { volume_id: 'v', capacity_bytes: '5', volume_context: { k: 'v' }, content_source: { snapshot: { snapshot_id: 's' } }, accessible_topology: [] } };
    const out = create.definition.responseSerialize(response);
    expect(out.equals(loader.responseSerialize(response))).toBe(true);
    expect(create.definition.responseDeserialize(out)).toEqual(loader.responseDeserialize(out));
    expect(() => create.definition.requestSerialize([])).toThrow(/expected object/);
  });
});
