// klog-compatible structured logging: `-v=N` verbosity and `--logging-format=text|json`, the
// same line shapes the Go sidecars print, so existing log pipelines keep parsing them.

import { batchedStderr } from './batched-writer.js';

export type LogFields = Record<string, unknown>;
export type LoggingFormat = 'text' | 'json';

export interface Logger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, err?: unknown, fields?: LogFields): void;
  /** A logger that writes only when the configured verbosity is at least `level`. */
  v(level: number): Logger;
  enabled(level: number): boolean;
  withValues(fields: LogFields): Logger;
  withName(name: string): Logger;
}

export interface LoggerOptions {
  verbosity?: number;
  format?: LoggingFormat;
  /** Where lines go; defaults to stderr like klog. */
  write?: (line: string) => void;
  now?: () => Date;
}

type Severity = 'I' | 'W' | 'E';

interface Sink {
  verbosity: number;
  format: LoggingFormat;
  write: (line: string) => void;
  now: () => Date;
}

class KlogLogger implements Logger {
  private byLevel: KlogLogger[] | undefined;

  constructor(
    private readonly sink: Sink,
    private readonly level: number,
    private readonly fields: LogFields,
    private readonly name: string,
  ) {}

  enabled(level: number): boolean {
    return this.sink.verbosity >= level;
  }

  v(level: number): Logger {
    if (level === this.level) return this;
    // Hot paths ask for the same levels on every call (v(5) per CSI call): keep them.
    const byLevel = (this.byLevel ??= []);
    if (Number.isInteger(level) && level >= 0 && level < 16) return (byLevel[level] ??= new KlogLogger(this.sink, level, this.fields, this.name));
    return new KlogLogger(this.sink, level, this.fields, this.name);
  }

  withValues(fields: LogFields): Logger {
    return new KlogLogger(this.sink, this.level, this.fields === EMPTY_FIELDS ? { ...fields } : { ...this.fields, ...fields }, this.name);
  }

  withName(name: string): Logger {
    return new KlogLogger(this.sink, this.level, this.fields, this.name ? `${this.name}/${name}` : name);
  }

  info(msg: string, fields?: LogFields): void {
    this.emit('I', msg, undefined, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    this.emit('W', msg, undefined, fields);
  }

  error(msg: string, err?: unknown, fields?: LogFields): void {
    // Errors are written whatever the verbosity, as klog does.
    this.emit('E', msg, err, fields, true);
  }

  private emit(sev: Severity, msg: string, err: unknown, fields: LogFields | undefined, always = false): void {
    if (!always && this.sink.verbosity < this.level) return;
    const all: LogFields = fields === undefined ? this.fields : this.fields === EMPTY_FIELDS ? fields : { ...this.fields, ...fields };
    const now = this.sink.now();
    if (this.sink.format === 'json') {
      const rec: LogFields = { ts: now.getTime() / 1000, level: sev === 'E' ? 'error' : sev === 'W' ? 'warning' : 'info' };
      if (this.name) rec.logger = this.name;
      rec.msg = msg;
      if (sev !== 'E') rec.v = this.level;
      if (err !== undefined) rec.err = errorText(err);
      for (const [k, val] of Object.entries(all)) rec[k] = jsonValue(val);
      this.sink.write(JSON.stringify(rec));
      return;
    }
    let line = `${header(sev, now)}] ${quote(this.name ? `${this.name}: ${msg}` : msg)}`;
    if (err !== undefined) line += ` err=${quote(errorText(err))}`;
    for (const k in all) line += ` ${k}=${textValue(all[k])}`;
    this.sink.write(line);
  }
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

// Lines come in bursts within the same millisecond: the formatted time is reused until it changes.
let lastHeaderMs = Number.NaN;
let lastHeaderTail = '';
const PID_FIELD = String(process.pid).padStart(7, ' ');

function header(sev: Severity, d: Date): string {
  // klog: Lmmdd hh:mm:ss.uuuuuu threadid file:line] — we have no file:line worth printing.
  const ms = d.getTime();
  if (ms !== lastHeaderMs) {
    const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000`;
    lastHeaderTail = `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())} ${time} ${PID_FIELD} sidecar`;
    lastHeaderMs = ms;
  }
  return sev + lastHeaderTail;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : safeStringify(err);
}

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, val: unknown) => (typeof val === 'bigint' ? val.toString() : val)) ?? String(v);
  } catch {
    return String(v);
  }
}

function jsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Error) return v.message;
  return v;
}

function textValue(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === undefined || v === null) return '<nil>';
  if (v instanceof Error) return quote(v.message);
  return safeStringify(v);
}

function defaultWrite(): (line: string) => void {
  const stderr = batchedStderr();
  return (line) => stderr.write(`${line}\n`);
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const sink: Sink = {
    verbosity: opts.verbosity ?? 0,
    format: opts.format ?? 'text',
    write: opts.write ?? defaultWrite(),
    now: opts.now ?? (() => new Date()),
  };
  return new KlogLogger(sink, 0, EMPTY_FIELDS, '');
}

const EMPTY_FIELDS: LogFields = Object.freeze({}) as LogFields;

/** A logger that discards everything (for tests that do not assert on logs). */
export const discardLogger: Logger = createLogger({ verbosity: -1, write: () => undefined });

/** Collects lines in memory; for tests that assert on what was logged. */
export function memoryLogger(verbosity = 10): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ verbosity, format: 'json', write: (l) => lines.push(l) }), lines };
}
