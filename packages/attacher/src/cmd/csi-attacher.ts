#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point of the csi-attacher binary: everything else lives in ./command.js.
// The Node flags on the first line are the ones every launcher uses (Dockerfile, e2e harness,
// bench read them from here): a small young generation keeps RSS down (docs/adr/0007).
import { createLogger, installCrashHandlers, processIO, runCommand } from '@csi-sidecars-ts/shared';
import { attacherCommand } from './command.js';

installCrashHandlers({ logger: createLogger(), exit: (code) => process.exit(code) });
process.exitCode = await runCommand(attacherCommand, process.argv.slice(2), processIO());
