// Where proto/csi.proto lives. packages/shared/proto sits beside both src/ and dist/, and this
// module is at <src|dist>/csi/, so the same relative URL works from jest (src) and after tsc (dist).
import { fileURLToPath } from 'node:url';

export function csiProtoPath(): string {
  return fileURLToPath(new URL('../../proto/csi.proto', import.meta.url));
}
