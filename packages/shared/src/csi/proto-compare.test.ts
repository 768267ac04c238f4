import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { compareProtoDescriptors, formatProtoDifferences } from './proto-compare.js';
import type { ProtoDifference } from './proto-compare.js';

const dir = mkdtempSync(join(tmpdir(), 'csi-proto-compare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(source: string): string {
  const path = join(dir, `p${++n}.proto`);
  writeFileSync(path, source);
  return path;
}

const BASE = `
syntax = "proto3";
package demo.v1;
import "google/protobuf/descriptor.proto";
import "google/protobuf/wrappers.proto";

extend google.protobuf.FieldOptions {
  bool csi_secret = 1059;
  bool alpha_field = 1060;
}
extend google.protobuf.MethodOptions { bool alpha_method = 1060; }
extend google.protobuf.EnumValueOptions { bool alpha_enum_value = 1060; }
extend google.protobuf.MessageOptions { bool alpha_message = 1060; }
extend google.protobuf.ServiceOptions { bool alpha_service = 1060; }

service Svc {
  rpc Create (CreateRequest) returns (CreateResponse) {}
  rpc Watch (CreateRequest) returns (stream CreateResponse) {
    option (alpha_method) = true;
  }
}

message CreateRequest {
  string name = 1;
  int64 size = 2;
  repeated string tags = 3;
  map<string, string> secrets = 4 [(csi_secret) = true];
  oneof source {
    string snapshot = 5;
    string volume = 6;
  }
  Mode mode = 7;
  google.protobuf.Int64Value limit = 8 [(alpha_field) = true];
  message Inner { bool flag = 1; }
  Inner inner = 9;
}

message CreateResponse {
  option (alpha_message) = true;
  string id = 1;
}

enum Mode {
  UNKNOWN = 0;
  FAST = 1;
  SLOW = 2 [(alpha_enum_value) = true];
}
`;

/** Differences between BASE with one edit applied (ours) and BASE itself (theirs). */
function diffAfter(from: string, to: string): ProtoDifference[] {
  if (!BASE.includes(from)) throw new Error(`test bug: ${from} not in BASE`);
  return compareProtoDescriptors(file(BASE.replace(from, to)), file(BASE));
}

describe('compareProtoDescriptors', () => {
  it('finds nothing between structurally equal files that differ in comments, order and layout', () => {
    const reordered = `// a different layout
syntax = "proto3";
package demo.v1;
import "google/protobuf/wrappers.proto";
import "google/protobuf/descriptor.proto";
enum Mode { UNKNOWN = 0; FAST = 1; SLOW = 2 [(alpha_enum_value) = true]; }
message CreateResponse { option (alpha_message) = true; string id = 1; /* id */ }
message CreateRequest {
  message Inner { bool flag = 1; }
  Inner inner = 9;
  google.protobuf.Int64Value limit = 8 [(alpha_field) = true];
  Mode mode = 7;
  oneof source { string volume = 6; string snapshot = 5; }
  map<string, string> secrets = 4 [(csi_secret) = true];
  repeated string tags = 3;
  int64 size = 2;
  string name = 1;
}
service Svc {
  rpc Watch (CreateRequest) returns (stream CreateResponse) { option (alpha_method) = true; }
  rpc Create (CreateRequest) returns (CreateResponse);
}
extend google.protobuf.ServiceOptions { bool alpha_service = 1060; }
extend google.protobuf.MessageOptions { bool alpha_message = 1060; }
extend google.protobuf.EnumValueOptions { bool alpha_enum_value = 1060; }
extend google.protobuf.MethodOptions { bool alpha_method = 1060; }
extend google.protobuf.FieldOptions { bool alpha_field = 1060; bool csi_secret = 1059; }
`;
    expect(compareProtoDescriptors(file(reordered), file(BASE))).toEqual([]);
  });

  it('reports a changed field number', () => {
    expect(diffAfter('int64 size = 2;', 'int64 size = 12;')).toEqual([
      { path: 'demo.v1.CreateRequest.size', kind: 'changed', detail: 'number: ours 12, theirs 2' },
    ]);
  });

  it('reports a changed scalar type and a changed message type', () => {
    expect(diffAfter('int64 size = 2;', 'int32 size = 2;')).toEqual([
      { path: 'demo.v1.CreateRequest.size', kind: 'changed', detail: 'type: ours int32, theirs int64' },
    ]);
    expect(diffAfter('google.protobuf.Int64Value limit', 'google.protobuf.Int32Value limit')).toEqual([
      {
        path: 'demo.v1.CreateRequest.limit',
        kind: 'changed',
        detail: 'type: ours google.protobuf.Int32Value, theirs google.protobuf.Int64Value',
      },
    ]);
  });

  it('reports repeated and map label changes', () => {
    expect(diffAfter('repeated string tags = 3;', 'string tags = 3;')).toEqual(
      expect.arrayContaining([{ path: 'demo.v1.CreateRequest.tags', kind: 'changed', detail: 'label: ours singular, theirs repeated' }]),
    );
    expect(diffAfter('map<string, string> secrets', 'map<string, int32> secrets')).toEqual([
      {
        path: 'demo.v1.CreateRequest.secrets',
        kind: 'changed',
        detail: 'type: ours map<string, int32>, theirs map<string, string>',
      },
    ]);
  });

  it('reports a lost csi_secret and alpha options', () => {
    expect(diffAfter('secrets = 4 [(csi_secret) = true];', 'secrets = 4;')).toEqual([
      { path: 'demo.v1.CreateRequest.secrets', kind: 'changed', detail: 'options: ours {}, theirs {(csi_secret)=true}' },
    ]);
    expect(diffAfter('limit = 8 [(alpha_field) = true];', 'limit = 8;')).toHaveLength(1);
    expect(diffAfter('option (alpha_message) = true;', '')).toEqual([
      { path: 'demo.v1.CreateResponse', kind: 'changed', detail: 'options: ours {}, theirs {(alpha_message)=true}' },
    ]);
    expect(diffAfter('option (alpha_method) = true;', '')).toEqual([
      { path: 'demo.v1.Svc.Watch', kind: 'changed', detail: 'options: ours {}, theirs {(alpha_method)=true}' },
    ]);
    expect(diffAfter('SLOW = 2 [(alpha_enum_value) = true];', 'SLOW = 2;')).toEqual([
      { path: 'demo.v1.Mode.SLOW', kind: 'changed', detail: 'options: ours {}, theirs {(alpha_enum_value)=true}' },
    ]);
  });

  it('reports oneof membership', () => {
    const diffs = diffAfter('    string volume = 6;\n  }', '  }\n  string volume = 6;');
    expect(diffs).toEqual(
      expect.arrayContaining([
        { path: 'demo.v1.CreateRequest.volume', kind: 'changed', detail: 'oneof: ours (none), theirs source' },
        { path: 'demo.v1.CreateRequest.source', kind: 'changed', detail: 'oneof members: ours snapshot, theirs snapshot,volume' },
      ]),
    );
  });

  it('reports enum values changed, missing and extra', () => {
    expect(diffAfter('SLOW = 2', 'SLOW = 3')).toEqual([{ path: 'demo.v1.Mode.SLOW', kind: 'changed', detail: 'value: ours 3, theirs 2' }]);
    expect(diffAfter('  FAST = 1;\n', '')).toEqual([{ path: 'demo.v1.Mode.FAST', kind: 'missing', detail: 'enum value FAST = 1 is not in ours' }]);
    expect(diffAfter('  FAST = 1;\n', '  FAST = 1;\n  TURBO = 4;\n')).toEqual([
      { path: 'demo.v1.Mode.TURBO', kind: 'extra', detail: 'enum value TURBO = 4 is not in theirs' },
    ]);
  });

  it('reports method signature changes: types and streaming', () => {
    expect(diffAfter('rpc Create (CreateRequest)', 'rpc Create (CreateResponse)')).toEqual([
      {
        path: 'demo.v1.Svc.Create',
        kind: 'changed',
        detail: 'signature: ours (demo.v1.CreateResponse) returns (demo.v1.CreateResponse), theirs (demo.v1.CreateRequest) returns (demo.v1.CreateResponse)',
      },
    ]);
    expect(diffAfter('returns (stream CreateResponse)', 'returns (CreateResponse)')).toEqual([
      {
        path: 'demo.v1.Svc.Watch',
        kind: 'changed',
        detail: 'signature: ours (demo.v1.CreateRequest) returns (demo.v1.CreateResponse), theirs (demo.v1.CreateRequest) returns (stream demo.v1.CreateResponse)',
      },
    ]);
  });

  it('reports renamed fields, missing methods, extra messages and nested types', () => {
    expect(diffAfter('string name = 1;', 'string title = 1;')).toEqual([
      { path: 'demo.v1.CreateRequest.name', kind: 'missing', detail: 'field name = 1 (string) is not in ours' },
      { path: 'demo.v1.CreateRequest.title', kind: 'extra', detail: 'field title = 1 (string) is not in theirs' },
    ]);
    expect(diffAfter('  rpc Create (CreateRequest) returns (CreateResponse) {}\n', '')).toEqual([
      {
        path: 'demo.v1.Svc.Create',
        kind: 'missing',
        detail: 'method Create(demo.v1.CreateRequest) returns (demo.v1.CreateResponse) is not in ours',
      },
    ]);
    expect(diffAfter('enum Mode {', 'message Extra {}\nenum Mode {')).toEqual([
      { path: 'demo.v1.Extra', kind: 'extra', detail: 'message demo.v1.Extra is not in theirs' },
    ]);
    expect(diffAfter('message Inner { bool flag = 1; }', 'message Inner { bool flag = 2; }')).toEqual([
      { path: 'demo.v1.CreateRequest.Inner.flag', kind: 'changed', detail: 'number: ours 2, theirs 1' },
    ]);
  });

  it('reports a changed option extension number', () => {
    expect(diffAfter('bool csi_secret = 1059;', 'bool csi_secret = 1058;')).toEqual([
      { path: 'demo.v1.csi_secret', kind: 'changed', detail: 'number: ours 1058, theirs 1059' },
    ]);
  });

  it('formats differences one per line', () => {
    expect(formatProtoDifferences(diffAfter('int64 size = 2;', 'int64 size = 12;'))).toBe(
      'changed demo.v1.CreateRequest.size: number: ours 12, theirs 2',
    );
  });
});
