// Log output written once per event-loop turn instead of once per line. On Linux, process.stderr
// to a pipe or a file is synchronous: every line was its own write(2), and under load (five lines
// per provisioned volume) those syscalls, and the wake-ups of whoever reads the pipe, were a tenth
// of the sidecar's CPU. Text keeps its order and bytes; what is pending is written synchronously
// when the process exits (process.exit included), and from then on writes go straight out.

export interface BatchedWriterOptions {
  /** Write at once when this many characters are pending. Default 64 Ki. */
  maxPending?: number;
  /** Runs the deferred flush; default setImmediate (after this turn's I/O callbacks). */
  schedule?: (flush: () => void) => void;
}

export const DEFAULT_MAX_PENDING = 64 * 1024;

export class BatchedWriter {
  readonly #out: (text: string) => void;
  readonly #maxPending: number;
  readonly #schedule: (flush: () => void) => void;
  #parts: string[] = [];
  #pending = 0;
  #scheduled = false;
  #direct = false;

  constructor(out: (text: string) => void, opts: BatchedWriterOptions = {}) {
    this.#out = out;
    this.#maxPending = opts.maxPending ?? DEFAULT_MAX_PENDING;
    this.#schedule = opts.schedule ?? ((fn) => void setImmediate(fn));
  }

  /** Characters waiting for the next flush. */
  get pending(): number {
    return this.#pending;
  }

  write(text: string): void {
    if (this.#direct) {
      this.flush();
      this.#out(text);
      return;
    }
    this.#parts.push(text);
    this.#pending += text.length;
    if (this.#pending >= this.#maxPending) {
      this.flush();
      return;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(this.#deferredFlush);
    }
  }

  /** Writes everything pending now, in one call of `out`. */
  flush(): void {
    if (this.#parts.length === 0) return;
    const parts = this.#parts;
    // Reset first: should `out` throw, the same text is not written twice by the next flush.
    this.#parts = [];
    this.#pending = 0;
    this.#out(parts.length === 1 ? parts[0]! : parts.join(''));
  }

  /** Flushes and stops batching: for the exit path, where no later turn will come to flush. */
  unbuffer(): void {
    this.flush();
    this.#direct = true;
  }

  readonly #deferredFlush = (): void => {
    this.#scheduled = false;
    this.flush();
  };
}

let stderr: BatchedWriter | undefined;

/**
 * The process's stderr, batched (one writer for the whole process, so lines from every logger
 * and the command's own messages keep their order). Flushed synchronously on process 'exit'.
 */
export function batchedStderr(): BatchedWriter {
  if (!stderr) {
    const w = new BatchedWriter((text) => void process.stderr.write(text));
    process.once('exit', () => w.unbuffer());
    stderr = w;
  }
  return stderr;
}
