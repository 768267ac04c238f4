import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { Root } from 'protobufjs';
import { loadProtoRoot } from './proto-root.js';
import { STRIPPED, isSecretField, sanitizedJson, stripSecrets, toLogJson } from './sanitize.js';
import { csiSchema } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'csi-sanitize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function inlineProto(source: string): Root {
  const file = join(dir, `p${Math.random().toString(36).slice(2)}.proto`);
  writeFileSync(file, source);
  return loadProtoRoot(file);
}

// Secrets deep inside: a nested message, a repeated message, a map of messages. Field names
// are chosen so that a name-based sanitizer would get every case wrong.
const nested = inlineProto(`
syntax = "proto3";
package t;
import "google/protobuf/descriptor.proto";
extend google.protobuf.FieldOptions { bool csi_secret = 1059; }

message Credentials {
  string user = 1;
  string blob = 2 [(csi_secret) = true];
}
message Outer {
  string name = 1;
  Credentials creds = 2;
  repeated Credentials more = 3;
  map<string, Credentials> by_key = 4;
  map<string, string> secrets = 5;
  map<string, string> hidden = 6 [(csi_secret) = true];
  int64 size = 7;
}
`);

describe('stripSecrets', () => {
  it('strips fields marked csi_secret at any depth, whatever their name', () => {
    const outer = nested.lookupType('t.Outer');
    const out = stripSecrets(outer, {
      name: 'n',
      creds: { user: 'alice', blob: 'p1' },
      more: [{ user: 'bob', blob: 'p2' }, { user: 'carol' }],
      by_key: { k: { user: 'dave', blob: 'p3' } },
      secrets: { notActuallySecret: 'visible' },
      hidden: { token: 'p4' },
      size: 5n,
    });
    expect(out).toEqual({
      name: 'n',
      creds: { user: 'alice', blob: STRIPPED },
      more: [{ user: 'bob', blob: STRIPPED }, { user: 'carol' }],
      by_key: { k: { user: 'dave', blob: STRIPPED } },
      secrets: { notActuallySecret: 'visible' },
      hidden: STRIPPED,
      size: 5n,
    });
    expect(JSON.stringify(out, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toMatch(/p[1-4]/);
  });

  it('leaves out unpopulated fields, as Go does', () => {
    const outer = nested.lookupType('t.Outer');
    expect(stripSecrets(outer, { name: '', creds: null, more: [], by_key: {}, hidden: {}, size: '0' })).toEqual({});
  });

  it('finds every secret field of the CSI spec through the option', () => {
    const schema = csiSchema();
    const secretFields: string[] = [];
    const visit = (ns: { nestedArray: unknown[] }) => {
      for (const child of ns.nestedArray as { fieldsArray?: { name: string; parent: { name: string } }[]; nestedArray?: unknown[] }[]) {
        for (const f of child.fieldsArray ?? []) if (isSecretField(f as never)) secretFields.push(`${f.parent.name}.${f.name}`);
        if (child.nestedArray) visit(child as { nestedArray: unknown[] });
      }
    };
    visit(schema.root.lookup('csi.v1') as unknown as { nestedArray: unknown[] });
    expect(secretFields).toHaveLength(19);
    expect(secretFields.every((f) => f.endsWith('.secrets'))).toBe(true);
    expect(secretFields).toEqual(expect.arrayContaining(['CreateVolumeRequest.secrets', 'NodeExpandVolumeRequest.secrets', 'GetMetadataDeltaRequest.secrets']));
  });

  it('renders CSI requests like protosanitizer: sorted keys, enum names, numbers for int64', () => {
    const type = csiSchema().messageType('CreateVolumeRequest');
    expect(
      sanitizedJson(type, {
        name: 'pvc-1',
        secrets: { password: 'hunter2' },
        capacity_range: { required_bytes: 9007199254740993n, limit_bytes: 0n },
        volume_capabilities: [{ block: {}, access_mode: { mode: 5 } }],
        parameters: { b: '2', a: '1' },
      }),
    ).toBe(
      '{"capacity_range":{"required_bytes":9007199254740993},"name":"pvc-1","parameters":{"a":"1","b":"2"},' +
        '"secrets":"***stripped***","volume_capabilities":[{"access_mode":{"mode":"MULTI_NODE_MULTI_WRITER"},"block":{}}]}',
    );
  });
});

describe('toLogJson', () => {
  it('writes bigint exactly and sorts keys', () => {
    expect(toLogJson({ z: 1, a: [2n ** 64n, 'x', null, true] })).toBe('{"a":[18446744073709551616,"x",null,true],"z":1}');
  });
});
