// What csi-attacher does with its parsed options. For now a clear "not wired yet" exit; the
// controllers are wired here later.

import type { RunContext } from '@csi-sidecars-ts/shared';
import type { AttacherOptions } from './flags.js';

export async function runAttacher(_options: AttacherOptions, ctx: RunContext): Promise<number> {
  ctx.io.stderr('csi-attacher: not yet wired: options are valid, but the controllers are not connected yet\n');
  return 1;
}
