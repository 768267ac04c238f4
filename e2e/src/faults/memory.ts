// A process's memory and CPU from /proc (Linux): there are no containers here, so a memory limit
// is emulated by comparing the peak resident set (VmHWM) with it — a container with that limit
// would have been OOM-killed once the process went over.
import { readFileSync } from 'node:fs';

export const MiB = 1024 * 1024;

export interface MemoryFigures {
  /** Resident set now (VmRSS), bytes. */
  rss: number;
  /** Peak resident set so far (VmHWM), bytes. */
  hwm: number;
}

/** VmRSS and VmHWM of `pid`, or undefined once the process is gone. */
export function readMemory(pid: number): MemoryFigures | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** Samples a process's memory every `intervalMs` until stopped; keeps the peaks. */
export class MemorySampler {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  #peakRss = 0;
  #hwm = 0;
  #last: MemoryFigures | undefined;
  samples = 0;

  constructor(pid: number, intervalMs = 200) {
    this.#pid = pid;
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): MemoryFigures | undefined {
    const m = readMemory(this.#pid);
    if (m) {
      this.samples++;
      this.#last = m;
      this.#peakRss = Math.max(this.#peakRss, m.rss);
      this.#hwm = Math.max(this.#hwm, m.hwm);
    }
    return m;
  }

  /** The highest resident set seen: VmHWM (the kernel's own peak) or the highest VmRSS sample. */
  get peak(): number {
    return Math.max(this.#peakRss, this.#hwm);
  }

  get last(): MemoryFigures | undefined {
    return this.#last;
  }

  stop(): void {
    this.sample();
    clearInterval(this.#timer);
  }
}
