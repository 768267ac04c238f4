// The Dockerfile, checked without a container engine: its targets, base images, user and entry
// points (each the package's own bin, as the Go images' contract wants), that runtime images get
// production dependencies only, and that .dockerignore keeps the context small. Then each
// runtime target's file layout is rebuilt on disk from the Dockerfile's own COPY lines (the
// production dependency set computed from package-lock.json the way `npm ci --omit=dev
// --workspace` picks it) and its entry point is run with --version: the image would start.
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { repoRoot } from '../../src/harness/paths.js';
import { run, SIDECARS, type SidecarName } from './chart-tools.js';

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Dockerfile → stages (global ARG defaults substituted into FROM). Enough of the syntax for ours. */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile: cannot read ${JSON.stringify(line)}`);
    const keyword = m[1]!.toUpperCase();
    const rest = m[2]!;
    if (keyword === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!f) throw new Error(`Dockerfile: cannot read FROM ${rest}`);
      const from = f[1]!.replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? stages.find((s) => s.name === name)?.name ?? `\${${name}}`);
      stages.push({ name: f[2] ?? String(stages.length), from, instructions: [] });
      continue;
    }
    if (stages.length === 0) {
      if (keyword !== 'ARG') throw new Error(`Dockerfile: ${keyword} before the first FROM`);
      const a = /^(\w+)=(.*)$/.exec(rest);
      if (a) args[a[1]!] = a[2]!;
      continue;
    }
    stages.at(-1)!.instructions.push({ keyword, args: rest });
  }
  return { args, stages };
}

const dockerfile = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));

function stage(name: string): Stage {
  const s = dockerfile.stages.find((x) => x.name === name);
  if (!s) throw new Error(`the Dockerfile has no stage ${name}`);
  return s;
}

/** A stage's instructions, its ancestors' (FROM another stage) first. */
function effectiveInstructions(s: Stage): Instruction[] {
  const parent = dockerfile.stages.find((x) => x.name === s.from);
  return [...(parent ? effectiveInstructions(parent) : []), ...s.instructions];
}

function only(s: Stage, keyword: string): Instruction[] {
  return s.instructions.filter((i) => i.keyword === keyword);
}

interface CopyFrom {
  from: string;
  src: string;
  dest: string;
}

function copies(s: Stage): CopyFrom[] {
  return only(s, 'COPY').map((i) => {
    const m = /^--from=(\S+)\s+(\S+)\s+(\S+)$/.exec(i.args);
    if (!m) throw new Error(`stage ${s.name}: COPY ${i.args} is not a single-source COPY --from`);
    return { from: m[1]!, src: m[2]!, dest: m[3]! };
  });
}

/** The Node flags on the first line of a sidecar's entry source (`#!/usr/bin/env -S node <flags>`). */
function nodeFlagsOf(sidecar: SidecarName): string[] {
  const first = readFileSync(join(repoRoot, 'packages', sidecar, 'src', 'cmd', `csi-${sidecar}.ts`), 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env -S node((?:\s+--\S+)*)\s*$/.exec(first);
  if (!m) throw new Error(`packages/${sidecar}/src/cmd/csi-${sidecar}.ts: first line is not "#!/usr/bin/env -S node <flags>"`);
  return m[1]!.trim().split(/\s+/).filter((f) => f !== '');
}

function binOf(sidecar: SidecarName): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'packages', sidecar, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const bin = pkg.bin[`csi-${sidecar}`];
  if (!bin) throw new Error(`packages/${sidecar}/package.json has no bin csi-${sidecar}`);
  return `/app/packages/${sidecar}/${bin}`;
}

/** The workspaces a stage installs with `npm ci --omit=dev --workspace ...`, or undefined. */
function prodWorkspaces(s: Stage): string[] | undefined {
  const npm = effectiveInstructions(s).filter((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
  if (npm.length !== 1) return undefined;
  const cmd = npm[0]!.args;
  if (!/\s--omit=dev\b/.test(cmd)) return undefined;
  return [...cmd.matchAll(/--workspace[= ](\S+)/g)].map((m) => m[1]!).sort();
}

const RUNTIME_TARGETS: { target: string; sidecars: SidecarName[] }[] = [
  ...SIDECARS.map((s) => ({ target: `csi-${s}`, sidecars: [s] })),
  { target: 'all-in-one', sidecars: [...SIDECARS] },
];

// ---- .dockerignore -----------------------------------------------------------------------------

/** .dockerignore semantics for the patterns we use: `**`, `*`, `?`, `!` exceptions, last match wins. */
function dockerIgnored(patterns: string[], path: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const glob = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    let re = '';
    for (let k = 0; k < glob.length; k++) {
      const ch = glob[k]!;
      if (glob.startsWith('**/', k)) {
        re += '(?:.*/)?';
        k += 2;
      } else if (glob.startsWith('**', k)) {
        re += '.*';
        k += 1;
      } else if (ch === '*') re += '[^/]*';
      else if (ch === '?') re += '[^/]';
      else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    // A pattern matches the path itself or a folder above it.
    if (new RegExp(`^${re}(?:/.*)?$`).test(path)) ignored = !negate;
  }
  return ignored;
}

// ---- production dependency set from package-lock.json --------------------------------------

interface LockEntry {
  dev?: boolean;
  link?: boolean;
  resolved?: string;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * The lockfile paths node's resolution reaches from some workspaces through dependencies,
 * optional dependencies and required peers: what `npm ci --omit=dev --workspace` installs.
 */
function productionClosure(workspaces: string[]): Set<string> {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const entries = lock.packages;
  const resolve = (from: string, name: string): string | undefined => {
    const parts = from === '' ? [] : from.split('/');
    for (let i = parts.length; i >= 0; i--) {
      const base = parts.slice(0, i).join('/');
      if (base.endsWith('node_modules')) continue;
      const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (entries[candidate]) return candidate;
    }
    return undefined;
  };
  const seen = new Set<string>();
  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    const e = entries[path];
    if (!e) throw new Error(`package-lock.json has no entry ${path}`);
    if (e.link) return visit(e.resolved!);
    const required = { ...e.dependencies };
    for (const [n, v] of Object.entries(e.peerDependencies ?? {})) if (!e.peerDependenciesMeta?.[n]?.optional) required[n] = v;
    for (const name of Object.keys(required)) {
      const target = resolve(path, name);
      if (!target) throw new Error(`${path} depends on ${name}, which package-lock.json does not resolve`);
      visit(target);
    }
    for (const name of Object.keys(e.optionalDependencies ?? {})) {
      const target = resolve(path, name);
      if (target) visit(target);
    }
  };
  for (const w of workspaces) visit(w);
  const dev = [...seen].filter((p) => entries[p]!.dev);
  if (dev.length > 0) throw new Error(`production dependencies of ${workspaces.join(', ')} include packages the lockfile marks dev-only: ${dev.join(', ')}`);
  return new Set([...seen].filter((p) => p.includes('node_modules/')));
}

// ---- rebuilding a runtime image's files ------------------------------------------------------

/** Mirrors a file tree with hard links (copies across file systems), leaving out nested node_modules. */
function mirror(src: string, dest: string, skipNodeModules: boolean): void {
  const st = statSync(src);
  if (st.isDirectory()) {
    mkdirSync(dest, { recursive: true });
    for (const name of readdirSync(src)) {
      if (skipNodeModules && name === 'node_modules') continue;
      mirror(join(src, name), join(dest, name), skipNodeModules);
    }
    return;
  }
  mkdirSync(dirname(dest), { recursive: true });
  try {
    linkSync(src, dest);
  } catch {
    copyFileSync(src, dest);
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'csi-image-layout-'));

/** The image's /app rebuilt under a scratch folder, from the target's COPY lines. */
function rebuildImage(target: string): string {
  const s = stage(target);
  const root = join(scratch, target);
  const workdir = only(s, 'WORKDIR').at(-1)?.args;
  if (workdir !== '/app') throw new Error(`${target}: WORKDIR is ${workdir}, want /app`);
  const buildWorkdir = only(stage('build'), 'WORKDIR').at(-1)?.args;
  for (const c of copies(s)) {
    const dest = join(root, c.dest.startsWith('/') ? c.dest : join('app', c.dest));
    if (c.from === 'build') {
      const rel = relative(buildWorkdir!, c.src);
      if (rel.startsWith('..')) throw new Error(`${target}: COPY --from=build ${c.src} is outside ${buildWorkdir}`);
      mirror(join(repoRoot, rel), dest, false);
      continue;
    }
    const workspaces = prodWorkspaces(stage(c.from));
    if (!workspaces || c.src !== '/app/node_modules') throw new Error(`${target}: unexpected COPY --from=${c.from} ${c.src}`);
    for (const path of [...productionClosure(workspaces)].sort()) {
      const lockEntry = path;
      const out = join(dest, relative('node_modules', lockEntry));
      const linkTarget = readLink(lockEntry);
      if (linkTarget !== undefined) {
        // npm links workspaces: node_modules/@scope/pkg -> ../../packages/pkg
        mkdirSync(dirname(out), { recursive: true });
        symlinkSync(relative(dirname(join('app', lockEntry)), join('app', linkTarget)), out);
      } else {
        mirror(join(repoRoot, lockEntry), out, true);
      }
    }
  }
  return root;
}

let lockPackages: Record<string, LockEntry> | undefined;
function readLockEntry(path: string): LockEntry | undefined {
  lockPackages ??= (JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }).packages;
  return lockPackages[path];
}

function readLink(path: string): string | undefined {
  const e = readLockEntry(path)!;
  return e.link ? e.resolved : undefined;
}

/** An exec-form ENTRYPOINT/CMD as a list, refusing the shell form. */
function execForm(i: Instruction | undefined, what: string): string[] {
  if (!i) throw new Error(`no ${what}`);
  const v = JSON.parse(i.args) as unknown;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${what} is not in exec form: ${i.args}`);
  return v as string[];
}

describe('Dockerfile', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('has a target per sidecar named after its binary, plus all-in-one, on Node 24', () => {
    const names = dockerfile.stages.map((s) => s.name);
    for (const { target } of RUNTIME_TARGETS) expect(names).toContain(target);
    expect(stage('build').from).toMatch(/^node:24[-.]/);
    for (const { target } of RUNTIME_TARGETS) {
      // Distroless Node 24: no shell, no package manager, user nonroot = 65532.
      expect({ target, from: stage(target).from }).toEqual({ target, from: expect.stringMatching(/^gcr\.io\/distroless\/nodejs24-debian12(:nonroot)?(@sha256:[0-9a-f]{64})?$/) });
    }
    // The build compiles the three sidecars (and, through project references, shared).
    expect(only(stage('build'), 'RUN').map((i) => i.args)).toContainEqual(
      expect.stringMatching(/tsc -b packages\/provisioner packages\/attacher packages\/resizer$/),
    );
  });

  it('runs every sidecar as 65532 with its own binary as the entry point (flags only, no shell)', () => {
    for (const { target, sidecars } of RUNTIME_TARGETS) {
      const s = stage(target);
      expect({ target, user: only(s, 'USER').at(-1)?.args }).toEqual({ target, user: '65532:65532' });
      // Nothing runs in a runtime stage: there is no shell to run it with, and nothing to install.
      expect({ target, run: only(s, 'RUN') }).toEqual({ target, run: [] });
      const entrypoint = execForm(only(s, 'ENTRYPOINT').at(-1), `${target} ENTRYPOINT`);
      // The Node flags are the ones the bin's own first line names (docs/adr/0007).
      const flags = nodeFlagsOf(sidecars[0]!);
      if (sidecars.length === 1) {
        expect(entrypoint).toEqual(['/nodejs/bin/node', ...flags, binOf(sidecars[0]!)]);
        expect(only(s, 'CMD')).toEqual([]);
      } else {
        for (const sc of sidecars) expect({ sc, flags: nodeFlagsOf(sc) }).toEqual({ sc, flags });
        expect(entrypoint).toEqual(['/nodejs/bin/node', ...flags]);
        expect(execForm(only(s, 'CMD').at(-1), `${target} CMD`)).toEqual([binOf('provisioner')]);
      }
    }
  });

  it('gives runtime images production dependencies only, for exactly their sidecars', () => {
    for (const { target, sidecars } of RUNTIME_TARGETS) {
      const cs = copies(stage(target));
      const modules = cs.filter((c) => c.src.includes('node_modules'));
      expect({ target, modules: modules.map((c) => `${c.src} -> ${c.dest}`) }).toEqual({ target, modules: ['/app/node_modules -> node_modules'] });
      const workspaces = prodWorkspaces(stage(modules[0]!.from));
      expect({ target, workspaces }).toEqual({ target, workspaces: sidecars.map((s) => `packages/${s}`).sort() });
      // From the build stage: package.json, dist and proto of the packages the sidecars run, nothing else.
      const fromBuild = cs.filter((c) => c.from === 'build').map((c) => c.dest).sort();
      const want = ['shared', ...sidecars].flatMap((p) => [`packages/${p}/package.json`, `packages/${p}/dist`, ...(p === 'shared' ? ['packages/shared/proto'] : [])]);
      expect({ target, fromBuild }).toEqual({ target, fromBuild: want.sort() });
    }
  });

  it('keeps node_modules, dist and .git out of the build context, and what the build needs in', () => {
    const patterns = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const path of ['node_modules/jest/package.json', 'packages/shared/node_modules/x/index.js', 'packages/provisioner/dist/index.js', '.git/HEAD', 'packages/shared/tsconfig.tsbuildinfo', 'packages/attacher/src/sidecar.test.ts', 'e2e/specs/control-plane.spec.ts', 'charts/csi-sidecars/values.yaml']) {
      expect({ path, ignored: dockerIgnored(patterns, path) }).toEqual({ path, ignored: true });
    }
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.base.json', 'e2e/package.json', 'packages/shared/package.json', 'packages/shared/tsconfig.json', 'packages/shared/src/index.ts', 'packages/shared/proto/csi.proto', 'packages/resizer/src/cmd/csi-resizer.ts']) {
      expect({ path, ignored: dockerIgnored(patterns, path) }).toEqual({ path, ignored: false });
    }
  });

  it('starts every entry point from the image layout, with production dependencies only', async () => {
    // Node's module resolution climbs folders: nothing above the scratch folder may serve modules.
    for (let d = scratch; d !== dirname(d); d = dirname(d)) {
      if (d !== scratch) expect(existsSync(join(d, 'node_modules'))).toBe(false);
    }
    const rootPkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const starts: Promise<{ target: string; sidecar: SidecarName; code: number; stderr: string; stdout: string }>[] = [];
    for (const { target, sidecars } of RUNTIME_TARGETS) {
      const root = rebuildImage(target);
      const installed = readdirSync(join(root, 'app', 'node_modules'));
      // The test and build tools are absent (@types/node stays: @kubernetes/client-node depends on it).
      const devInstalled = Object.keys(rootPkg.devDependencies).filter(
        (dev) => readLockEntry(`node_modules/${dev}`)?.dev === true && existsSync(join(root, 'app', 'node_modules', dev)),
      );
      expect({ target, devInstalled }).toEqual({ target, devInstalled: [] });
      expect(existsSync(join(root, 'app', 'node_modules', 'typescript'))).toBe(false);
      expect(existsSync(join(root, 'app', 'node_modules', 'jest'))).toBe(false);
      expect(installed).toContain('@grpc');
      const entrypoint = execForm(only(stage(target), 'ENTRYPOINT').at(-1), 'ENTRYPOINT');
      for (const sidecar of sidecars) {
        // /nodejs/bin/node is this node; /app/... is the rebuilt folder.
        const argv = [...entrypoint, ...(entrypoint.some((a) => a.endsWith('.js')) ? [] : [binOf(sidecar)])].slice(1).map((a) => (a.startsWith('/') ? join(root, a) : a));
        const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'production' };
        starts.push(run(process.execPath, [...argv, '--version'], { cwd: join(root, 'app'), env }).then((r) => ({ target, sidecar, ...r })));
      }
    }
    for (const r of await Promise.all(starts)) {
      expect({ target: r.target, sidecar: r.sidecar, code: r.code, stderr: r.stderr }).toEqual({ target: r.target, sidecar: r.sidecar, code: 0, stderr: '' });
      expect(r.stdout).toMatch(new RegExp(`^csi-${r.sidecar} v\\S+ \\(drop-in for `));
    }
  });
});
