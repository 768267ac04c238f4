// Loading a .proto file into protobufjs reflection objects, with the custom options
// ((csi_secret), (alpha_*)) preserved — proto-loader's package definition drops them, so every
// walk over the schema (int64 conversion, secret stripping, structural comparison) uses this.
import { accessSync } from 'node:fs';
import { createRequire } from 'node:module';
import protobuf from 'protobufjs';
import type { Root } from 'protobufjs';

const require = createRequire(import.meta.url);

/**
 * protobufjs bundles timestamp.proto and wrappers.proto but not descriptor.proto, which csi.proto
 * imports to declare its options. Register the bundled JSON form once (proto-loader does the same).
 */
function ensureDescriptorProto(): void {
  if (protobuf.common.get('google/protobuf/descriptor.proto')) return;
  const json = require('protobufjs/google/protobuf/descriptor.json') as {
    nested: { google: { nested: { protobuf: { nested: Record<string, unknown> } } } };
  };
  protobuf.common('descriptor', json.nested.google.nested.protobuf.nested);
}

export interface LoadProtoOptions {
  /** Extra directories searched for imports, after the importing file's own directory. */
  includeDirs?: string[];
}

/** Parses a .proto file (and its imports) with field names kept as written. */
export function loadProtoRoot(file: string, options: LoadProtoOptions = {}): Root {
  ensureDescriptorProto();
  const root = new protobuf.Root();
  const includeDirs = options.includeDirs ?? [];
  if (includeDirs.length > 0) {
    const original = root.resolvePath.bind(root);
    root.resolvePath = (origin: string, target: string) => {
      if (target.startsWith('/')) return target;
      for (const dir of includeDirs) {
        const candidate = `${dir.replace(/\/$/, '')}/${target}`;
        try {
          accessSync(candidate);
          return candidate;
        } catch {
          // try the next directory
        }
      }
      return original(origin, target);
    };
  }
  root.loadSync(file, { keepCase: true });
  root.resolveAll();
  return root;
}
