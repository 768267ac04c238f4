// What a sidecar process loads before it does any work (ADR 7): @kubernetes/client-node must not
// be among it (its module graph alone is ~75 MiB of RSS and ~0.7 s), nor @grpc/proto-loader (the
// CSI codecs come from the one parsed csi.proto), and the bins must name the V8 flags every
// launcher uses on their first line. Runs the built bins, no cluster needed.
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { sidecarBin, sidecarNodeFlags } from '../../src/harness/sidecars.js';
import { repoRoot } from '../../src/harness/paths.js';
import { run, SIDECARS } from './chart-tools.js';

// Loads a sidecar's whole command module (everything its entry point imports) and prints the
// npm packages resolved on the way.
const probe = (commandModule: string) => `
import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(s, c, next) { const r = next(s, c); const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(r.url); if (m) seen.add(m[1]); return r; } });
await import(${JSON.stringify(commandModule)});
console.log(JSON.stringify([...seen].sort()));
`;

describe('sidecar start-up footprint', () => {
  for (const sidecar of SIDECARS) {
    it(`csi-${sidecar} loads no @kubernetes/client-node and runs with a small young generation`, async () => {
      const command = join(repoRoot, 'packages', sidecar, 'dist', 'cmd', 'command.js');
      const r = await run(process.execPath, ['--input-type=module', '-e', probe(command)]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      const loaded = JSON.parse(r.stdout) as string[];
      expect(loaded).toContain('@grpc/grpc-js');
      expect(loaded).not.toContain('@kubernetes/client-node');
      expect(loaded).not.toContain('@grpc/proto-loader');
      expect(sidecarNodeFlags(sidecarBin(sidecar))).toEqual(['--max-semi-space-size=2']);
    });
  }
});
