// csi-resizer as a command: names, versions and the flag dialect of the Go binary it replaces.

import { COMPATIBILITY_HELP_NOTE, type CommandSpec } from '@csi-sidecars-ts/shared';
import { sidecarName } from '../index.js';
import { resizerFlags, validateResizerFlags, type ResizerFlagDefs } from './flags.js';
import { runResizer } from './run.js';

export const RESIZER_VERSION = 'v0.1.0';
export const RESIZER_MIRRORS = 'kubernetes-csi external-resizer v2.2.0';

export const resizerCommand: CommandSpec<ResizerFlagDefs> = {
  program: sidecarName,
  version: RESIZER_VERSION,
  mirrors: RESIZER_MIRRORS,
  // The Go resizer parses with Go's standard flag package.
  dialect: 'goflag',
  helpFooter: COMPATIBILITY_HELP_NOTE,
  flags: resizerFlags,
  validate: (options) => validateResizerFlags(options),
  run: runResizer,
};
