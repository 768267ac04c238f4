// csi-attacher as a command: names, versions and the flag dialect of the Go binary it replaces.

import { COMPATIBILITY_HELP_NOTE, type CommandSpec } from '@csi-sidecars-ts/shared';
import { sidecarName } from '../index.js';
import { attacherFlags, validateAttacherFlags, type AttacherFlagDefs } from './flags.js';
import { runAttacher } from './run.js';

export const ATTACHER_VERSION = 'v0.1.0';
export const ATTACHER_MIRRORS = 'kubernetes-csi external-attacher v4.12.0';

export const attacherCommand: CommandSpec<AttacherFlagDefs> = {
  program: sidecarName,
  version: ATTACHER_VERSION,
  mirrors: ATTACHER_MIRRORS,
  // The Go attacher parses with Go's standard flag package.
  dialect: 'goflag',
  helpFooter: COMPATIBILITY_HELP_NOTE,
  flags: attacherFlags,
  validate: (options) => validateAttacherFlags(options),
  run: runAttacher,
};
