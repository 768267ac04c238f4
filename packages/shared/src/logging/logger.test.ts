import { describe, expect, it } from '@jest/globals';
import { createLogger } from './logger.js';

function textLogger(verbosity: number, times: number[]) {
  const lines: string[] = [];
  let i = 0;
  const logger = createLogger({ verbosity, write: (l) => lines.push(l), now: () => new Date(times[Math.min(i++, times.length - 1)]!) });
  return { logger, lines };
}

const pid = String(process.pid).padStart(7, ' ');

describe('text lines (klog shape)', () => {
  it('formats the header from the clock, also when consecutive lines share a millisecond or not', () => {
    const t1 = Date.UTC(2026, 10, 22, 1, 2, 3, 45);
    const t2 = Date.UTC(2026, 0, 5, 23, 59, 59, 999);
    const { logger, lines } = textLogger(0, [t1, t1, t2, t1]);
    logger.info('a');
    logger.warn('b');
    logger.error('c', new Error('boom'));
    logger.info('d');
    expect(lines).toEqual([
      `I1122 01:02:03.045000 ${pid} sidecar] "a"`,
      `W1122 01:02:03.045000 ${pid} sidecar] "b"`,
      `E0105 23:59:59.999000 ${pid} sidecar] "c" err="boom"`,
      `I1122 01:02:03.045000 ${pid} sidecar] "d"`,
    ]);
  });

  it('writes the logger values first, then the call fields (a call field overrides a value in place)', () => {
    const { logger, lines } = textLogger(0, [0]);
    const l = logger.withName('ctl').withValues({ a: 1, b: 'x' });
    l.info('m', { b: 'y', c: true, d: undefined, e: { k: 1n } });
    l.info('n');
    logger.info('o', { z: 'only' });
    logger.withValues({}).info('p');
    expect(lines.map((s) => s.slice(s.indexOf(']') + 2))).toEqual([
      '"ctl: m" a=1 b="y" c=true d=<nil> e={"k":"1"}',
      '"ctl: n" a=1 b="x"',
      '"o" z="only"',
      '"p"',
    ]);
  });

  it('the fields object given to a call is not changed and values do not leak between loggers', () => {
    const { logger, lines } = textLogger(0, [0]);
    const fields = { x: 1 };
    const a = logger.withValues({ a: 1 });
    a.info('one', fields);
    logger.info('two', fields);
    expect(fields).toEqual({ x: 1 });
    expect(lines.map((s) => s.slice(s.indexOf(']') + 2))).toEqual(['"one" a=1 x=1', '"two" x=1']);
  });
});

describe('verbosity', () => {
  it('v(n) writes only at verbosity >= n; errors always; enabled() tells', () => {
    const { logger, lines } = textLogger(2, [0]);
    logger.v(2).info('two');
    logger.v(3).info('three');
    logger.v(3).warn('three-warn');
    logger.v(5).withValues({ a: 1 }).withName('n').error('err at v5');
    expect(logger.enabled(2)).toBe(true);
    expect(logger.enabled(3)).toBe(false);
    expect(lines.map((s) => s.slice(s.indexOf(']') + 2))).toEqual(['"two"', '"n: err at v5" a=1']);
  });

  it('v(n) loggers are reused per level and keep their name and values; v(n).v(m) is level m', () => {
    const { logger, lines } = textLogger(3, [0]);
    const named = logger.withName('x').withValues({ k: 'v' });
    expect(named.v(3)).toBe(named.v(3));
    expect(named.v(3)).not.toBe(logger.v(3));
    named.v(4).v(3).info('three');
    named.v(3).v(4).info('four');
    named.v(100).info('hundred');
    named.v(2.5).info('fraction');
    expect(lines.map((s) => s.slice(s.indexOf(']') + 2))).toEqual(['"x: three" k="v"', '"x: fraction" k="v"']);
  });

  it('a disabled level never reads the clock nor formats its fields', () => {
    let reads = 0;
    const logger = createLogger({
      verbosity: 1,
      write: () => undefined,
      now: () => {
        reads++;
        return new Date(0);
      },
    });
    const costly = {
      toJSON() {
        throw new Error('formatted');
      },
    };
    logger.v(4).info('x', { costly });
    logger.v(4).withValues({ costly }).info('y');
    expect(reads).toBe(0);
  });
});

describe('json lines', () => {
  it('carries ts, level, logger, msg, v, err and the fields', () => {
    const lines: string[] = [];
    const logger = createLogger({ verbosity: 3, format: 'json', write: (l) => lines.push(l), now: () => new Date(1500) });
    logger.withName('c').withValues({ a: 1 }).v(3).info('m', { big: 5n });
    logger.error('bad', new Error('why'), { k: 'v' });
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      { ts: 1.5, level: 'info', logger: 'c', msg: 'm', v: 3, a: 1, big: '5' },
      { ts: 1.5, level: 'error', msg: 'bad', err: 'why', k: 'v' },
    ]);
  });
});
