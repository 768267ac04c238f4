// csi-provisioner as a command: names, versions and the flag dialect of the Go binary it replaces.

import { COMPATIBILITY_HELP_NOTE, type CommandSpec } from '@csi-sidecars-ts/shared';
import { sidecarName } from '../index.js';
import { provisionerFlags, validateProvisionerFlags, type ProvisionerFlagDefs } from './flags.js';
import { runProvisioner } from './run.js';

export const PROVISIONER_VERSION = 'v0.1.0';
export const PROVISIONER_MIRRORS = 'kubernetes-csi external-provisioner v6.3.0';

export const provisionerCommand: CommandSpec<ProvisionerFlagDefs> = {
  program: sidecarName,
  version: PROVISIONER_VERSION,
  mirrors: PROVISIONER_MIRRORS,
  // The Go provisioner parses with pflag; its messages and help layout are pflag's.
  dialect: 'pflag',
  helpFooter: COMPATIBILITY_HELP_NOTE,
  flags: provisionerFlags,
  validate: (options) => validateProvisionerFlags(options),
  run: runProvisioner,
};
