// The progress line on stdout: rewritten in place on a terminal, one line per finished run
// otherwise (CI logs).

export class Progress {
  #prefix = '';
  #lastWrite = 0;
  #dirty = false;
  readonly #started = Date.now();
  readonly #tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stdout,
    tty?: boolean,
  ) {
    this.#tty = tty ?? Boolean(out.isTTY);
  }

  #elapsed(): string {
    const s = Math.round((Date.now() - this.#started) / 1000);
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  }

  /** What is running now, e.g. "[ 3/44] provision · lifted · pair 1/3 · ours". */
  begin(prefix: string): void {
    this.#prefix = prefix;
    this.detail('');
  }

  detail(detail: string): void {
    if (!this.#tty) return;
    const now = Date.now();
    if (now - this.#lastWrite < 200 && detail !== '') return;
    this.#lastWrite = now;
    const text = `${this.#elapsed()} ${this.#prefix}${detail ? ` · ${detail}` : ''}`;
    const width = this.out.columns ? this.out.columns - 1 : 120;
    this.out.write(`\r\x1b[K${text.slice(0, width)}`);
    this.#dirty = true;
  }

  /** A permanent line (a finished run, a message). */
  line(text: string): void {
    if (this.#dirty) this.out.write('\r\x1b[K');
    this.#dirty = false;
    this.out.write(`${this.#elapsed()} ${text}\n`);
  }
}
