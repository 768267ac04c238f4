// Resident memory and CPU time of a process from /proc, sampled on an interval, so a run can
// report peak and steady RSS, CPU seconds over a window, and tell when the process went quiet.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcSample {
  /** performance.now() when read. */
  at: number;
  rssKiB: number;
  /** VmHWM: the peak RSS since the process started. */
  hwmKiB: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
}

/** VmRSS and VmHWM (kB) from the text of /proc/<pid>/status. */
export function parseStatus(text: string): { rssKiB: number; hwmKiB: number } {
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc status has no ${name} line`);
    return Number(m[1]);
  };
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/** utime + stime (clock ticks) from the text of /proc/<pid>/stat. */
export function parseStatCpuTicks(text: string): number {
  // The command name (field 2) is in parentheses and may contain spaces: count from the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('malformed /proc stat line');
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('malformed /proc stat line: no utime/stime');
  return utime + stime;
}

let clockTicks: number | undefined;
/** The kernel's USER_HZ (almost always 100). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export function readProcSample(pid: number, at: number): ProcSample | undefined {
  try {
    const status = parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const cpuTicks = parseStatCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return { at, ...status, cpuTicks };
  } catch {
    return undefined; // the process is gone (or a zombie without memory lines)
  }
}

/** CPU use (fraction of one core) between two samples. */
export function cpuFraction(a: ProcSample, b: ProcSample, ticksPerSecond: number): number {
  const seconds = (b.at - a.at) / 1000;
  if (seconds <= 0) return 0;
  return (b.cpuTicks - a.cpuTicks) / ticksPerSecond / seconds;
}

export class ProcSampler {
  readonly samples: ProcSample[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly ticksPerSecond = clockTicksPerSecond();

  constructor(
    readonly pid: number,
    intervalMs = 100,
  ) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): ProcSample | undefined {
    const s = readProcSample(this.pid, performance.now());
    if (s) this.samples.push(s);
    return s;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  get last(): ProcSample | undefined {
    return this.samples[this.samples.length - 1];
  }

  /** The latest sample at or before `at`. */
  at(at: number): ProcSample | undefined {
    let found: ProcSample | undefined;
    for (const s of this.samples) {
      if (s.at > at) break;
      found = s;
    }
    return found;
  }

  /** CPU seconds used between two instants (nearest samples at or before them). */
  cpuSecondsBetween(from: number, to: number): number {
    const a = this.at(from) ?? this.samples[0];
    const b = this.at(to) ?? this.last;
    if (!a || !b) return 0;
    return Math.max(0, b.cpuTicks - a.cpuTicks) / this.ticksPerSecond;
  }

  /** The CPU fraction over the trailing window ending at the last sample. */
  recentCpuFraction(windowMs: number): number | undefined {
    const b = this.last;
    if (!b) return undefined;
    const a = this.at(b.at - windowMs);
    if (!a || a === b) return undefined;
    return cpuFraction(a, b, this.ticksPerSecond);
  }

  peakKiB(): number {
    return this.samples.reduce((m, s) => Math.max(m, s.hwmKiB, s.rssKiB), 0);
  }

  /** RSS values of the samples within [from, to]. */
  rssBetween(from: number, to: number): number[] {
    return this.samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.rssKiB);
  }
}

