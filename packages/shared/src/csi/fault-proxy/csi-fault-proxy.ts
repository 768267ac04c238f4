#!/usr/bin/env node
// Entry point of the csi-fault-proxy binary: everything else lives in ./cli.js.
import { runFaultProxyCli } from './cli.js';

const stopRequested = new Promise((resolve) => {
  process.once('SIGTERM', resolve);
  process.once('SIGINT', resolve);
});
process.exitCode = await runFaultProxyCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  stopRequested,
});
