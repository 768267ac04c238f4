#!/usr/bin/env node
// Entry point of the csi-attacher binary: everything else lives in ./command.js.
import { createLogger, installCrashHandlers, processIO, runCommand } from '@csi-sidecars-ts/shared';
import { attacherCommand } from './command.js';

installCrashHandlers({ logger: createLogger(), exit: (code) => process.exit(code) });
process.exitCode = await runCommand(attacherCommand, process.argv.slice(2), processIO());
