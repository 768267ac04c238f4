// A small seeded pseudo-random generator for property-style tests, fuzzing and fault schedules:
// the same seed gives the same sequence, so a failure found once can be replayed by printing the
// seed and passing it back (CSI_FUZZ_SEED). Not for anything security related.

export interface SeededRandom {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max] (both included). */
  int(min: number, max: number): number;
  bool(pTrue?: number): boolean;
  pick<T>(items: readonly T[]): T;
  shuffle<T>(items: readonly T[]): T[];
  /** A string of `length` characters drawn from `alphabet`. */
  chars(length: number, alphabet: string): string;
  /** Anything a careless or hostile user might type: empty, huge, unicode, control characters, templates. */
  garbage(maxLength?: number): string;
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const NASTY = [
  '',
  ' ',
  '\u0000',
  '\n\r\t',
  '${',
  '${}',
  '${pvc.name',
  '${pvc.annotations[',
  "${pvc.annotations['']}",
  '${pv.name}${pv.name}',
  '$$',
  '%s%n%x',
  '../../etc/passwd',
  'ünïcødé-名前-🙂',
  '\u202e\u200b\ufeff',
  '-1',
  '0',
  'NaN',
  '1e308',
  '9223372036854775808',
  'null',
  '{"a":',
  '<script>',
  'csi.storage.k8s.io/',
];

/** mulberry32: tiny, fast and good enough for tests. */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => {
    if (items.length === 0) throw new Error('seededRandom.pick: no items to pick from');
    return items[int(0, items.length - 1)]!;
  };
  const chars = (length: number, alphabet: string) => {
    const cps = Array.from(alphabet);
    let s = '';
    for (let i = 0; i < length; i++) s += pick(cps);
    return s;
  };
  return {
    seed: seed >>> 0,
    next,
    int,
    bool: (pTrue = 0.5) => next() < pTrue,
    pick,
    shuffle: <T>(items: readonly T[]) => {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(0, i);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
    chars,
    garbage: (maxLength = 300) => {
      switch (int(0, 5)) {
        case 0:
          return pick(NASTY);
        case 1:
          return chars(int(0, Math.min(maxLength, 40)), LOWER);
        case 2:
          return chars(int(0, maxLength), 'aZ09-_.$/{}[]\'" ü名🙂\u0000\n');
        case 3:
          // Huge: the limits the API server and the sidecar put on a value.
          return 'x'.repeat(int(maxLength, maxLength * 20));
        case 4:
          return `${pick(NASTY)}${chars(int(1, 12), LOWER)}${pick(NASTY)}`;
        default:
          return String.fromCodePoint(...Array.from({ length: int(1, 16) }, () => int(1, 0x10ffff)).filter((c) => c < 0xd800 || c > 0xdfff));
      }
    },
  };
}

/**
 * The seed for a fuzz run: CSI_FUZZ_SEED when set (to replay a failure), else a fresh one. Print
 * it with the test's name so a failure can be replayed.
 */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = env.CSI_FUZZ_SEED;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 0) throw new Error(`CSI_FUZZ_SEED must be a non-negative integer, got ${JSON.stringify(fromEnv)}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}
