// Our hand-written csi.proto against the CSI spec's own csi.proto, fetched by the Go toolchain
// (github.com/container-storage-interface/spec v1.12.0, pinned in hack/go/csi-spec).
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareProtoDescriptors, csiProtoPath, formatProtoDifferences } from '@csi-sidecars-ts/shared';
import { clusterInfo } from '../src/harness/cluster-env.js';

function specProto(): string {
  return join(clusterInfo().components.csiSpecDir, 'csi.proto');
}

describe('csi.proto', () => {
  it('matches the CSI spec v1.12.0 in every message, field number, type, enum value, service and option', () => {
    const diffs = compareProtoDescriptors(csiProtoPath(), specProto());
    expect(formatProtoDifferences(diffs)).toBe('');
  });

  it('would notice a single changed field number in the spec file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'csi-proto-'));
    try {
      const original = readFileSync(specProto(), 'utf8');
      const mutated = original.replace(/(\bstring name = )1;/, '$1 99;');
      expect(mutated).not.toBe(original);
      const file = join(dir, 'csi.proto');
      writeFileSync(file, mutated);
      const diffs = compareProtoDescriptors(csiProtoPath(), file);
      expect(diffs.length).toBeGreaterThan(0);
      expect(formatProtoDifferences(diffs)).toMatch(/name/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
