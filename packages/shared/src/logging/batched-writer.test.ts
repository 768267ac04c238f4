import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { BatchedWriter } from './batched-writer.js';

function manual(maxPending?: number) {
  const out: string[] = [];
  const deferred: (() => void)[] = [];
  const w = new BatchedWriter((t) => out.push(t), { ...(maxPending !== undefined ? { maxPending } : {}), schedule: (fn) => deferred.push(fn) });
  return { w, out, deferred };
}

describe('BatchedWriter', () => {
  it('writes the texts of one turn in one call, in order and unchanged, when the deferred flush runs', () => {
    const { w, out, deferred } = manual();
    w.write('a\n');
    w.write('b "x"\n');
    w.write('ü\n');
    expect(out).toEqual([]);
    expect(deferred).toHaveLength(1);
    deferred.shift()!();
    expect(out).toEqual(['a\nb "x"\nü\n']);
    expect(w.pending).toBe(0);
    w.write('c\n');
    expect(deferred).toHaveLength(1);
    deferred.shift()!();
    expect(out).toEqual(['a\nb "x"\nü\n', 'c\n']);
  });

  it('flushes at once when the pending text reaches the limit, and the later deferred flush finds nothing', () => {
    const { w, out, deferred } = manual(6);
    w.write('abc');
    w.write('def');
    expect(out).toEqual(['abcdef']);
    w.write('g');
    expect(deferred).toHaveLength(1);
    deferred.shift()!();
    expect(out).toEqual(['abcdef', 'g']);
    deferred.splice(0).forEach((fn) => fn());
    expect(out).toEqual(['abcdef', 'g']);
  });

  it('after unbuffer() writes pending text first, then every write directly', () => {
    const { w, out } = manual();
    w.write('1');
    w.unbuffer();
    expect(out).toEqual(['1']);
    w.write('2');
    w.write('3');
    expect(out).toEqual(['1', '2', '3']);
  });

  it('does not write the same text twice when the output throws', () => {
    const out: string[] = [];
    let fail = true;
    const w = new BatchedWriter(
      (t) => {
        if (fail) throw new Error('EPIPE');
        out.push(t);
      },
      { schedule: () => undefined },
    );
    w.write('lost');
    expect(() => w.flush()).toThrow('EPIPE');
    fail = false;
    w.write('kept');
    w.flush();
    expect(out).toEqual(['kept']);
  });

  it('with the default scheduler flushes on a later turn', async () => {
    const out: string[] = [];
    const w = new BatchedWriter((t) => out.push(t));
    w.write('x');
    expect(out).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(out).toEqual(['x']);
  });
});

describe('batchedStderr', () => {
  // A child process: lines written in the turn that calls process.exit() must still reach stderr.
  it('writes pending lines before process.exit() and on a normal end', () => {
    const mod = fileURLToPath(new URL('./batched-writer.ts', import.meta.url));
    const script = `
      const { batchedStderr } = await import(${JSON.stringify(mod)});
      const w = batchedStderr();
      w.write('one\\n');
      w.write('two\\n');
      if (process.argv[1] === 'exit') process.exit(3);
    `;
    for (const mode of ['exit', 'end']) {
      const r = spawnSync(process.execPath, ['--experimental-strip-types', '--no-warnings', '--input-type=module', '-e', script, mode], { encoding: 'utf8' });
      expect({ mode, stderr: r.stderr, status: r.status }).toEqual({ mode, stderr: 'one\ntwo\n', status: mode === 'exit' ? 3 : 0 });
    }
  });
});
