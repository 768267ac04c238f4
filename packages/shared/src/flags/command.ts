// The shell of a sidecar binary: parse flags, answer --help and --version, refuse bad values with
// exit code 2 (as Go's flag package does), then hand typed options to the sidecar's run().
// Output and environment come through CommandIO, so all of it runs in tests without exiting.

import type { FlagDef, FlagDefs, FlagValues } from './definitions.js';
import { parseFlags, type FlagDialect } from './parser.js';
import { formatUsage } from './usage.js';
import { batchedStderr } from '../logging/batched-writer.js';

export interface CommandIO {
  stdout(text: string): void;
  stderr(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Ends the process once the sidecar has decided to (the bins: process.exit). Tests leave it out. */
  exit?(code: number): void;
}

export interface RunContext {
  readonly io: CommandIO;
  /** Go names of the flags given on the command line. */
  readonly explicit: ReadonlySet<string>;
}

export type VersionedFlagDefs = FlagDefs & { version: FlagDef<boolean> };

export interface CommandSpec<D extends VersionedFlagDefs> {
  /** Binary name, e.g. "csi-provisioner". */
  readonly program: string;
  /** Our version, e.g. "v0.1.0". */
  readonly version: string;
  /** The Go release this is a drop-in for, e.g. "kubernetes-csi external-provisioner v6.3.0". */
  readonly mirrors: string;
  readonly dialect: FlagDialect;
  readonly helpFooter?: string;
  /** A fresh definition set (definitions are cheap; values never leak between runs). */
  flags(): D;
  /** Checks across flags; one message per problem, each naming its flag(s). */
  validate?(values: FlagValues<D>, ctx: RunContext): string[];
  /** Runs the sidecar; resolves with the process exit code. */
  run(values: FlagValues<D>, ctx: RunContext): Promise<number>;
}

/** Exit codes, as the Go sidecars use them. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** Go's flag package exits 2 on a bad command line; so do we, also for cross-flag problems. */
export const EXIT_USAGE = 2;

export function versionLine(spec: Pick<CommandSpec<VersionedFlagDefs>, 'program' | 'version' | 'mirrors'>): string {
  return `${spec.program} ${spec.version} (drop-in for ${spec.mirrors})`;
}

export function usageText<D extends VersionedFlagDefs>(spec: CommandSpec<D>): string {
  return formatUsage(spec.flags(), {
    program: spec.program,
    dialect: spec.dialect,
    ...(spec.helpFooter !== undefined ? { footer: spec.helpFooter } : {}),
  });
}

/**
 * Parses argv (without node and script path) and runs the command. Help goes to stderr with exit
 * 0, like Go's flag packages (scripts that grep the help must read stderr, as with the Go images);
 * the version goes to stdout with exit 0.
 */
export async function runCommand<D extends VersionedFlagDefs>(
  spec: CommandSpec<D>,
  argv: readonly string[],
  io: CommandIO,
): Promise<number> {
  const parsed = parseFlags(spec.flags(), argv, { dialect: spec.dialect });
  if (parsed.kind === 'help') {
    io.stderr(usageText(spec));
    return EXIT_OK;
  }
  if (parsed.kind === 'error') {
    io.stderr(`${parsed.error}\n${usageText(spec)}`);
    return EXIT_USAGE;
  }
  for (const warning of parsed.warnings) io.stderr(`${warning}\n`);
  if (parsed.args.length > 0) {
    io.stderr(`Ignoring arguments that are not flags: ${parsed.args.join(' ')}\n`);
  }
  if (parsed.values.version) {
    io.stdout(`${versionLine(spec)}\n`);
    return EXIT_OK;
  }
  const ctx: RunContext = { io, explicit: parsed.explicit };
  const problems = spec.validate?.(parsed.values, ctx) ?? [];
  if (problems.length > 0) {
    for (const p of problems) io.stderr(`${spec.program}: ${p}\n`);
    io.stderr(`Run "${spec.program} --help" for the list of flags.\n`);
    return EXIT_USAGE;
  }
  try {
    return await spec.run(parsed.values, ctx);
  } catch (err) {
    io.stderr(`${spec.program}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}

/** CommandIO bound to this process; stderr (where the logs go) is written once per event-loop turn. */
export function processIO(): CommandIO {
  const stderr = batchedStderr();
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => stderr.write(text),
    env: process.env,
    exit: (code) => process.exit(code),
  };
}
