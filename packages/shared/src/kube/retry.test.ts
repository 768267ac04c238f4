import { describe, expect, it } from '@jest/globals';
import { FakeClock, flushMicrotasks } from '../lifecycle/clock.js';
import { KubeApiError } from './errors.js';
import { retryOnConflict } from './retry.js';

const conflict = () => KubeApiError.fromResponse(409, { kind: 'Status', reason: 'Conflict', code: 409, message: 'the object has been modified' });

describe('retryOnConflict', () => {
  it('re-runs the read-modify-write after a conflict, 10ms apart with 10% jitter', async () => {
    const clock = new FakeClock();
    const starts: number[] = [];
    const p = retryOnConflict(
      async (attempt) => {
        starts.push(clock.now());
        if (attempt < 3) throw conflict();
        return 'ok';
      },
      { clock, random: () => 1 },
    );
    await flushMicrotasks();
    await clock.advance(11);
    await clock.advance(11);
    await expect(p).resolves.toBe('ok');
    expect(starts.map((t) => t - starts[0]!)).toEqual([0, 11, 22]);
  });

  it('gives up after 5 attempts with the last conflict', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const p = retryOnConflict(
      async () => {
        calls++;
        throw conflict();
      },
      { clock, random: () => 0 },
    );
    const settled = p.catch((e: unknown) => e);
    for (let i = 0; i < 10; i++) await clock.advance(10);
    const err = await settled;
    expect(calls).toBe(5);
    expect((err as KubeApiError).code).toBe(409);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    await expect(
      retryOnConflict(async () => {
        calls++;
        throw KubeApiError.fromResponse(404, '');
      }),
    ).rejects.toThrow(KubeApiError);
    expect(calls).toBe(1);
  });
});
