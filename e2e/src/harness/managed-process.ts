// A child process the harness owns: output goes to a log file, it is stopped with SIGTERM then
// SIGKILL, and every live child is killed synchronously if the harness process itself exits, so an
// interrupted test run leaves no strays behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) p.killNow();
  });
}

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** File that records the pids the harness started, so a later run can reap strays. */
  pidFile?: string;
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #exitCode: number | null | undefined;

  constructor(opts: ManagedProcessOptions) {
    installExitHook();
    this.name = opts.name;
    this.logFile = opts.logFile;
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    this.#child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child.stdout?.pipe(log, { end: false });
    this.#child.stderr?.pipe(log, { end: false });
    this.#exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.#exitCode = code ?? (signal ? -1 : null);
        live.delete(this);
        log.end();
        resolve(this.#exitCode);
      });
      this.#child.on('error', (err) => {
        appendFileSync(opts.logFile, `\nspawn error: ${err.message}\n`);
        this.#exitCode = -1;
        live.delete(this);
        resolve(-1);
      });
    });
    live.add(this);
    // Each line names the owner (this harness process) so another harness never reaps our children.
    if (opts.pidFile && this.#child.pid) {
      const entry: PidEntry = { pid: this.#child.pid, owner: process.pid, name: opts.name, command: opts.command };
      appendFileSync(opts.pidFile, `${JSON.stringify(entry)}\n`);
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  get exited(): Promise<number | null> {
    return this.#exited;
  }

  /** The last lines of the log, for error messages. */
  tail(lines = 30): string {
    if (!existsSync(this.logFile)) return '';
    return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
  }

  killNow(): void {
    if (this.running) this.#child.kill('SIGKILL');
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Sends a signal without waiting (e.g. SIGSTOP/SIGCONT for fault tests). */
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.#child.kill(sig);
  }
}

/**
 * Kills processes recorded by an earlier harness that died before it could clean up (its owner
 * pid is gone). Children of live harnesses are left alone.
 */
export function reapStrays(pidFile: string): string[] {
  if (!existsSync(pidFile)) return [];
  const reaped: string[] = [];
  const keep: string[] = [];
  for (const line of readFileSync(pidFile, 'utf8').split('\n')) {
    let entry: PidEntry;
    try {
      entry = JSON.parse(line) as PidEntry;
    } catch {
      continue;
    }
    if (isAlive(entry.owner)) {
      keep.push(line);
      continue;
    }
    // The pid may have been reused since: kill it only if it still runs the same program.
    if (isAlive(entry.pid) && commandOf(entry.pid) === entry.command) {
      try {
        process.kill(entry.pid, 'SIGKILL');
        reaped.push(`${entry.name}(${entry.pid})`);
      } catch {
        // gone in the meantime
      }
    }
  }
  writeFileSync(pidFile, keep.map((l) => `${l}\n`).join(''));
  return reaped;
}

interface PidEntry {
  pid: number;
  owner: number;
  name: string;
  command: string;
}

function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
