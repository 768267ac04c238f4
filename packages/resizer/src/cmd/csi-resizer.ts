#!/usr/bin/env node
import { sidecarName } from '../index.js';

const arg = process.argv[2];
if (arg === '--version') {
  console.log(`${sidecarName} v0.1.0`);
} else {
  console.log(`Usage of ${sidecarName}: (flags are being implemented)`);
}
