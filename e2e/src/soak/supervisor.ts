// Keeps one sidecar running the way kubelet keeps a container running: when the process exits
// (SIGKILLed by the soak, or exiting by itself on a lost plugin connection), it is started again
// after a back-off that doubles up to a cap and resets once the process has stayed up a while.
import type { ManagedProcess } from '../harness/managed-process.js';

export interface SupervisorOptions {
  name: string;
  /** Starts a fresh process; `attempt` counts from 1 (log files can be told apart). */
  start: (attempt: number) => Promise<ManagedProcess> | ManagedProcess;
  /** First back-off (kubelet: 10 s; a soak wants it shorter). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Up this long, the back-off starts again from the first value. */
  resetAfterMs?: number;
  log?: (line: string) => void;
}

export interface ExitRecord {
  at: number;
  /** Exit code, -1 for a signal. */
  code: number | null;
  /** Whether the soak killed it on purpose. */
  killed: boolean;
  upMs: number;
}

export class Supervisor {
  readonly name: string;
  readonly exits: ExitRecord[] = [];
  readonly #opts: Required<Omit<SupervisorOptions, 'log'>> & { log: (l: string) => void };
  #current: ManagedProcess | undefined;
  #stopped = false;
  #killRequested = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(opts: SupervisorOptions) {
    this.name = opts.name;
    this.#opts = {
      initialBackoffMs: 500,
      maxBackoffMs: 8000,
      resetAfterMs: 30_000,
      log: () => undefined,
      ...opts,
    };
  }

  /** Starts the first process and returns once it is started. */
  async start(): Promise<void> {
    this.#current = await this.#opts.start(1);
    this.#loop = this.#run(this.#current);
  }

  get current(): ManagedProcess | undefined {
    return this.#current;
  }

  get running(): boolean {
    return this.#current?.running ?? false;
  }

  /** SIGKILL now; the supervisor restarts it after the back-off. */
  kill(): void {
    if (!this.#current?.running) return;
    this.#killRequested = true;
    this.#current.killNow();
  }

  /** Restarts after a kill or an exit that are not ours. */
  get unplannedExits(): number {
    return this.exits.filter((e) => !e.killed).length;
  }

  async stop(graceMs = 5000): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#current?.stop(graceMs);
    await this.#loop;
  }

  async #run(first: ManagedProcess): Promise<void> {
    let proc = first;
    let attempt = 1;
    let backoff = this.#opts.initialBackoffMs;
    let startedAt = Date.now();
    for (;;) {
      const code = await proc.exited;
      if (this.#stopped) return;
      const upMs = Date.now() - startedAt;
      this.exits.push({ at: Date.now(), code, killed: this.#killRequested, upMs });
      this.#killRequested = false;
      if (upMs >= this.#opts.resetAfterMs) backoff = this.#opts.initialBackoffMs;
      this.#opts.log(`${this.name} exited (code ${code}, up ${upMs} ms); restarting in ${backoff} ms`);
      for (;;) {
        await this.#sleep(backoff);
        if (this.#stopped) return;
        backoff = Math.min(backoff * 2, this.#opts.maxBackoffMs);
        attempt++;
        try {
          proc = await this.#opts.start(attempt);
          break;
        } catch (err) {
          this.#opts.log(`${this.name} could not start: ${(err as Error).message}`);
        }
      }
      this.#current = proc;
      if (this.#stopped) {
        await proc.stop(2000);
        return;
      }
      startedAt = Date.now();
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    }).finally(() => (this.#wake = undefined));
  }
}
