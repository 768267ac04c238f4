#!/usr/bin/env node
// Entry point of the csi-provisioner binary: everything else lives in ./command.js.
import { createLogger, installCrashHandlers, processIO, runCommand } from '@csi-sidecars-ts/shared';
import { provisionerCommand } from './command.js';

installCrashHandlers({ logger: createLogger(), exit: (code) => process.exit(code) });
process.exitCode = await runCommand(provisionerCommand, process.argv.slice(2), processIO());
