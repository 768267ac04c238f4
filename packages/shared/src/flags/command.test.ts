import { describe, expect, it } from '@jest/globals';
import { runCommand, type CommandIO, type CommandSpec } from './command.js';
import { boolFlag, durationFlag, stringFlag, type FlagValues } from './definitions.js';

function flags() {
  return {
    version: boolFlag('version', false, 'Print the version.'),
    name: stringFlag('name', 'x', 'A name.'),
    timeoutMs: durationFlag('timeout', 10_000, 'A timeout.'),
    old: stringFlag('old', '', 'Old.', { deprecated: 'use --name' }),
  };
}
type Defs = ReturnType<typeof flags>;

function fakeIO(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIO = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), env };
  return { io, out, err, stdoutText: () => out.join(''), stderrText: () => err.join('') };
}

function spec(overrides: Partial<CommandSpec<Defs>> = {}) {
  const runs: FlagValues<Defs>[] = [];
  const s: CommandSpec<Defs> = {
    program: 'csi-test',
    version: 'v0.1.0',
    mirrors: 'kubernetes-csi external-test v1.2.3',
    dialect: 'goflag',
    helpFooter: 'Compat note.',
    flags,
    validate: (v) => (v.name === 'bad' ? ['--name must not be "bad"'] : []),
    run: async (v) => {
      runs.push(v);
      return 0;
    },
    ...overrides,
  };
  return { spec: s, runs };
}

describe('runCommand', () => {
  it('runs with typed options', async () => {
    const { spec: s, runs } = spec();
    const f = fakeIO();
    expect(await runCommand(s, ['--name=y', '--timeout', '2s'], f.io)).toBe(0);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ name: 'y', timeoutMs: 2_000, version: false });
    expect(f.stderrText()).toBe('');
  });

  it('prints usage to stderr and exits 0 on --help', async () => {
    const { spec: s, runs } = spec();
    const f = fakeIO();
    expect(await runCommand(s, ['-h'], f.io)).toBe(0);
    expect(runs).toHaveLength(0);
    expect(f.stdoutText()).toBe('');
    expect(f.stderrText()).toContain('Usage of csi-test:\n  -name string\n');
    expect(f.stderrText()).toContain('Compat note.');
  });

  it('prints the version to stdout and exits 0', async () => {
    const { spec: s, runs } = spec();
    const f = fakeIO();
    expect(await runCommand(s, ['--version'], f.io)).toBe(0);
    expect(f.stdoutText()).toBe('csi-test v0.1.0 (drop-in for kubernetes-csi external-test v1.2.3)\n');
    expect(runs).toHaveLength(0);
  });

  it('prints the version even when cross-flag checks would fail (as Go does)', async () => {
    const { spec: s } = spec();
    const f = fakeIO();
    expect(await runCommand(s, ['--version', '--name=bad'], f.io)).toBe(0);
  });

  it('exits 2 with the message and usage on a bad flag', async () => {
    const { spec: s, runs } = spec();
    const f = fakeIO();
    expect(await runCommand(s, ['--nope'], f.io)).toBe(2);
    expect(f.stderrText()).toMatch(/^flag provided but not defined: -nope\nUsage of csi-test:/);
    expect(runs).toHaveLength(0);
  });

  it('exits 2 naming the flag on a bad value', async () => {
    const { spec: s } = spec();
    const f = fakeIO();
    expect(await runCommand(s, ['--timeout=ten'], f.io)).toBe(2);
    expect(f.stderrText()).toContain('invalid value "ten" for flag -timeout: time: invalid duration "ten"');
  });

  it('exits 2 on cross-flag problems, without a crash or the full usage', async () => {
    const { spec: s, runs } = spec();
    const f = fakeIO();
    expect(await runCommand(s, ['--name=bad'], f.io)).toBe(2);
    expect(f.stderrText()).toBe('csi-test: --name must not be "bad"\nRun "csi-test --help" for the list of flags.\n');
    expect(runs).toHaveLength(0);
  });

  it('prints warnings and ignored arguments before running', async () => {
    const { spec: s } = spec();
    const f = fakeIO();
    expect(await runCommand(s, ['--old=a', 'stray'], f.io)).toBe(0);
    expect(f.err).toEqual(['Flag --old has been deprecated, use --name\n', 'Ignoring arguments that are not flags: stray\n']);
  });

  it('returns run()\'s exit code and turns a throw into exit 1', async () => {
    const failing = spec({ run: async () => 7 }).spec;
    expect(await runCommand(failing, [], fakeIO().io)).toBe(7);
    const throwing = spec({
      run: async () => {
        throw new Error('boom');
      },
    }).spec;
    const f = fakeIO();
    expect(await runCommand(throwing, [], f.io)).toBe(1);
    expect(f.stderrText()).toBe('csi-test: boom\n');
  });
});
