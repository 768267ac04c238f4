// What csi-resizer does with its parsed options. For now a clear "not wired yet" exit; the
// controllers are wired here later.

import type { RunContext } from '@csi-sidecars-ts/shared';
import type { ResizerOptions } from './flags.js';

export async function runResizer(_options: ResizerOptions, ctx: RunContext): Promise<number> {
  ctx.io.stderr('csi-resizer: not yet wired: options are valid, but the controllers are not connected yet\n');
  return 1;
}
