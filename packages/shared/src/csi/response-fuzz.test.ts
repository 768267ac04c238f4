// Property-style fuzzing of what a CSI plugin may answer (seeded: the seed is printed; replay with
// CSI_FUZZ_SEED=<seed>): bytes that do not decode, truncated messages, wrong field types, absurd
// capacities, empty or huge ids. Whatever comes back, a call either resolves with a response that
// has what the sidecars build objects from, or rejects with a CsiCallError naming the method; the
// connection stays usable; and the secrets sent with the request never reach a log line, even at
// -v=5 where requests and responses are logged.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DisposableStore } from '../lifecycle/disposable.js';
import { CsiCallError, CsiInvalidResponseError } from './errors.js';
import { harness, newStore, type Harness } from './__fixtures__/harness.js';
import { rawResponse, type RawResponse } from './testing/fake-plugin.js';
import { fuzzSeed, seededRandom, type SeededRandom } from './testing/seeded-random.js';

const SEED = fuzzSeed();
const ROUNDS = 60;
const SECRET = `fuzz-secret-${SEED.toString(16)}-value`;

let store: DisposableStore;
let h: Harness;

beforeAll(async () => {
  process.stdout.write(`response-fuzz seed ${SEED} (replay: CSI_FUZZ_SEED=${SEED})\n`);
  store = newStore();
  h = await harness(store, { verbosity: 5, connection: { timeoutMs: 2000 } });
  await h.connection.start();
});

afterAll(async () => {
  await store.dispose();
});

const absurdInts = [0n, -1n, 1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 62n, 3n];

function randomBytes(rng: SeededRandom): RawResponse {
  return rawResponse(Array.from({ length: rng.int(0, 64) }, () => rng.int(0, 255)));
}

/** Something a broken or hostile driver might answer instead of a CreateVolumeResponse. */
function garbageVolume(rng: SeededRandom): unknown {
  switch (rng.int(0, 7)) {
    case 0:
      return randomBytes(rng);
    case 1:
      // Truncated: field 1 (volume) announcing more bytes than follow, then a partial volume_id.
      return rawResponse([0x0a, rng.int(3, 120), 0x12, rng.int(1, 60), ...Array.from({ length: rng.int(0, 4) }, () => 0x61)]);
    case 2:
      return {};
    case 3:
      return { volume: { volume_id: '', capacity_bytes: rng.pick(absurdInts) } };
    case 4:
      return { volume: { volume_id: rng.garbage(2000) || 'x', capacity_bytes: rng.pick(absurdInts), volume_context: { [rng.garbage(50)]: rng.garbage(500) } } };
    case 5:
      // Wrong types where the message has numbers and strings.
      return { volume: { volume_id: rng.int(0, 1e6), capacity_bytes: rng.garbage(20) } };
    case 6:
      return { volume: { volume_id: 'v', accessible_topology: [{ segments: { [rng.garbage(30)]: rng.garbage(30) } }, {}] } };
    default:
      return { volume: null, extra_field: rng.garbage(100) };
  }
}

function garbageExpand(rng: SeededRandom): unknown {
  switch (rng.int(0, 3)) {
    case 0:
      return randomBytes(rng);
    case 1:
      return { capacity_bytes: rng.pick(absurdInts), node_expansion_required: rng.bool() };
    case 2:
      return { capacity_bytes: rng.garbage(10), node_expansion_required: rng.garbage(5) };
    default:
      return {};
  }
}

function garbagePublish(rng: SeededRandom): unknown {
  switch (rng.int(0, 3)) {
    case 0:
      return randomBytes(rng);
    case 1:
      return { publish_context: { [rng.garbage(100) || 'k']: rng.garbage(5000) } };
    case 2:
      return { publish_context: rng.garbage(10) };
    default:
      return {};
  }
}

/** Resolves with the response or the error; fails the test on anything else (a hang, a non-Error). */
async function outcome<T>(call: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; err: CsiCallError | CsiInvalidResponseError }> {
  try {
    return { ok: true, value: await call };
  } catch (err) {
    // A gRPC status (undecodable bytes come back as INTERNAL) or a response missing what the spec requires.
    expect(err instanceof CsiCallError || err instanceof CsiInvalidResponseError).toBe(true);
    const e = err as CsiCallError | CsiInvalidResponseError;
    expect(e.message.length).toBeGreaterThan(0);
    return { ok: false, err: e };
  }
}

async function stillServes(): Promise<void> {
  h.plugin.resetHandlers();
  const res = await h.connection.controller.createVolume({
    name: `good-${Math.random()}`,
    capacity_range: { required_bytes: 1024n },
    volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
  });
  expect(res.volume?.volume_id).not.toBe('');
}

describe(`CSI responses from a broken driver (seed ${SEED})`, () => {
  it('CreateVolume: a usable volume (non-empty id, bigint capacity) or a clear error naming the method', async () => {
    const rng = seededRandom(SEED);
    let rejected = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const answer = garbageVolume(rng);
      h.plugin.setHandler('CreateVolume', () => answer as never);
      const r = await outcome(h.connection.controller.createVolume({ name: `fuzz-${i}`, capacity_range: { required_bytes: 1n }, volume_capabilities: [], secrets: { password: SECRET } }));
      if (r.ok) {
        expect(typeof r.value.volume?.volume_id).toBe('string');
        expect(r.value.volume?.volume_id).not.toBe('');
        expect(typeof (r.value.volume?.capacity_bytes ?? 0n)).toBe('bigint');
      } else {
        rejected++;
        expect(r.err.method).toContain('CreateVolume');
      }
    }
    // The generator mostly produces answers that must be refused.
    expect(rejected).toBeGreaterThan(ROUNDS / 4);
    await stillServes();
  });

  it('ControllerExpandVolume and ControllerPublishVolume: a response or a clear error, never a crash', async () => {
    const rng = seededRandom(SEED + 1);
    for (let i = 0; i < ROUNDS; i++) {
      const expand = garbageExpand(rng);
      h.plugin.setHandler('ControllerExpandVolume', () => expand as never);
      const e = await outcome(h.connection.controller.controllerExpandVolume({ volume_id: 'v', capacity_range: { required_bytes: 1n }, secrets: { password: SECRET } }));
      if (e.ok) expect(typeof (e.value.capacity_bytes ?? 0n)).toBe('bigint');
      const publish = garbagePublish(rng);
      h.plugin.setHandler('ControllerPublishVolume', () => publish as never);
      const p = await outcome(
        h.connection.controller.controllerPublishVolume({ volume_id: 'v', node_id: 'n', readonly: false, secrets: { password: SECRET } }),
      );
      if (p.ok) for (const [k, v] of Object.entries(p.value.publish_context ?? {})) expect([typeof k, typeof v]).toEqual(['string', 'string']);
    }
    await stillServes();
  });

  it('never logs the secrets sent with the requests, even at -v=5', () => {
    expect(h.lines.length).toBeGreaterThan(ROUNDS);
    // The requests were logged, with the secrets replaced.
    expect(h.lines.some((l) => l.includes('***stripped***'))).toBe(true);
    expect(h.lines.filter((l) => l.includes(SECRET))).toEqual([]);
  });
});
