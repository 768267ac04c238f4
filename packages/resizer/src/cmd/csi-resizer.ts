#!/usr/bin/env node
// Entry point of the csi-resizer binary: everything else lives in ./command.js.
import { createLogger, installCrashHandlers, processIO, runCommand } from '@csi-sidecars-ts/shared';
import { resizerCommand } from './command.js';

installCrashHandlers({ logger: createLogger(), exit: (code) => process.exit(code) });
process.exitCode = await runCommand(resizerCommand, process.argv.slice(2), processIO());
