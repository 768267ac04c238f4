#!/usr/bin/env node
// Adds the platform-specific optional packages (@swc/core-*, @turbo/*, @unrs/resolver-binding-*)
// that npm left out of package-lock.json because the registry mirror it ran against does not
// serve them (it answers 404 for, e.g., the darwin and win32 builds). Without those entries
// `npm ci` refuses the lockfile ("Missing: … from lock file"). Each entry gets the os/cpu/libc its
// name encodes, so npm skips it on other platforms exactly as it would with a full lockfile.
//
// Run after `npm install` changes the lockfile:  node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(root, 'package-lock.json');
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;

const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony', 'sunos', 'netbsd', 'openbsd', 'aix', 'windows', 'wasm32'];
const CPU = { x64: 'x64', '64': 'x64', arm64: 'arm64', arm: 'arm', ia32: 'ia32', ppc64: 'ppc64', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', wasm32: 'wasm32' };

/** os/cpu/libc from a platform package name such as @swc/core-linux-arm-gnueabihf. */
export function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  let os;
  let cpu;
  let libc;
  for (const p of parts) {
    if (!os && OS.includes(p)) os = p === 'windows' ? 'win32' : p;
    else if (os && !cpu && CPU[p]) cpu = CPU[p];
    else if (p === 'gnu' || p === 'gnueabihf') libc = 'glibc';
    else if (p === 'musl' || p === 'musleabihf') libc = 'musl';
  }
  if (parts.includes('wasm32')) return { cpu: ['wasm32'] };
  if (!os || !cpu) return undefined;
  return { os: [os], cpu: [cpu], ...(libc ? { libc: [libc] } : {}) };
}

const added = [];
const unknown = [];
for (const [path, entry] of Object.entries(packages)) {
  if (!path.startsWith('node_modules/') || !entry.optionalDependencies) continue;
  for (const [dep, range] of Object.entries(entry.optionalDependencies)) {
    const key = `node_modules/${dep}`;
    if (packages[key]) continue;
    const platform = platformOf(dep);
    if (!platform) {
      unknown.push(`${dep} (optional dependency of ${path.slice('node_modules/'.length)})`);
      continue;
    }
    packages[key] = {
      version: range.replace(/^[\^~=]/, ''),
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...platform,
    };
    added.push(dep);
  }
}

if (unknown.length) {
  console.error(`cannot tell the platform of:\n  ${unknown.join('\n  ')}`);
  process.exit(1);
}
// npm keeps the packages map sorted by path.
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `added ${added.length} platform entries: ${added.join(', ')}` : 'lockfile already complete');
