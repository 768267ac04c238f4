import { describe, expect, it } from '@jest/globals';
import { SCENARIOS, SCENARIO_IDS, scaledSize, scaledSizes } from './catalogue.js';
import { BenchUsageError, QUICK, parseBenchArgs } from './options.js';
import { countWindow, parseAuditLine, RequestTally } from './audit.js';
import { ProcSampler, cpuFraction, parseStatCpuTicks, parseStatus } from './process/proc-stats.js';

describe('parseBenchArgs', () => {
  it('defaults to every scenario, both profiles, 3 pairs, full size', () => {
    const o = parseBenchArgs([]);
    expect(o.scenarios).toEqual([...SCENARIO_IDS]);
    expect(o.profiles).toEqual(['go-defaults', 'lifted']);
    expect(o.pairs).toBe(3);
    expect(o.scale).toBe(1);
  });

  it('reads flags in both spellings, expands groups and keeps the catalogue order', () => {
    const o = parseBenchArgs(['--scale', '0.05', '--pairs=1', '--scenarios', 'idle,provision', '--profiles=lifted']);
    expect(o.scale).toBe(0.05);
    expect(o.pairs).toBe(1);
    // The smaller idle size first: the data set only grows.
    expect(o.scenarios).toEqual(['provision', 'idle-provisioner', 'idle-attacher', 'idle-resizer', 'idle-provisioner-10k-volumes', 'idle-attacher-10k-volumes', 'idle-resizer-10k-volumes']);
    expect(o.profiles).toEqual(['lifted']);
  });

  it('takes the environment as defaults and lets flags win', () => {
    const o = parseBenchArgs(['--pairs', '2'], { BENCH_SCALE: '0.1', BENCH_PAIRS: '5', BENCH_SCENARIOS: 'expand' });
    expect(o.scale).toBe(0.1);
    expect(o.pairs).toBe(2);
    expect(o.scenarios).toEqual(['expand']);
  });

  it('--quick picks the quick size unless --scale/--pairs say otherwise, wherever they stand', () => {
    expect(parseBenchArgs(['--quick'])).toMatchObject({ quick: true, scale: QUICK.scale, pairs: QUICK.pairs });
    expect(parseBenchArgs(['--pairs', '2', '--quick'])).toMatchObject({ scale: QUICK.scale, pairs: 2 });
    expect(parseBenchArgs(['--quick', '--scale=0.5'], { BENCH_PAIRS: '3' })).toMatchObject({ scale: 0.5, pairs: QUICK.pairs });
  });

  it('profiles ours unless told not to, and leaves the READMEs alone unless asked', () => {
    expect(parseBenchArgs([])).toMatchObject({ cpuProf: true, updateReadmes: false });
    expect(parseBenchArgs(['--no-cpu-prof', '--update-readmes'])).toMatchObject({ cpuProf: false, updateReadmes: true });
  });

  it('names the flag in every error', () => {
    expect(() => parseBenchArgs(['--scale', '0'])).toThrow(/--scale: expected a positive number/);
    expect(() => parseBenchArgs(['--pairs', '1.5'])).toThrow(/--pairs: expected a whole number/);
    expect(() => parseBenchArgs(['--scenarios', 'nope'])).toThrow(/--scenarios: unknown scenario "nope"/);
    expect(() => parseBenchArgs(['--profiles', 'fast'])).toThrow(/--profiles: unknown profile "fast"/);
    expect(() => parseBenchArgs(['--scale'])).toThrow(/--scale: missing value/);
    expect(() => parseBenchArgs(['--frobnicate'])).toThrow(BenchUsageError);
  });
});

describe('scaledSize', () => {
  it('scales, never below 4 objects, and keeps twice the burst at the Go default limits', () => {
    expect(scaledSize(SCENARIOS.provision, 'lifted', 0.2)).toBe(200);
    expect(scaledSize(SCENARIOS.provision, 'lifted', 0.001)).toBe(4);
    expect(scaledSize(SCENARIOS.provision, 'go-defaults', 0.2)).toBe(20);
    expect(scaledSize(SCENARIOS.provision, 'go-defaults', 1)).toBe(40);
    expect(scaledSize(SCENARIOS['idle-provisioner'], 'go-defaults', 0.2)).toBe(1000);
  });

  it('leaves out the profiles a scenario has no size for (the larger idle size runs at one)', () => {
    expect(scaledSize(SCENARIOS['idle-provisioner-10k-volumes'], 'lifted', 1)).toBeUndefined();
    expect(scaledSizes(SCENARIOS['idle-provisioner-10k-volumes'], ['go-defaults', 'lifted'], 0.1)).toEqual([['go-defaults', 1000]]);
    expect(scaledSizes(SCENARIOS['idle-provisioner-10k-volumes'], ['lifted'], 1)).toEqual([]);
    expect(scaledSizes(SCENARIOS.provision, ['go-defaults', 'lifted'], 1)).toEqual([['go-defaults', 40], ['lifted', 1000]]);
  });
});

describe('audit log counting', () => {
  const line = (stage: string, verb: string, ua: string, resource = 'persistentvolumes', subresource?: string) =>
    JSON.stringify({ kind: 'Event', stage, verb, userAgent: ua, objectRef: { resource, ...(subresource ? { subresource } : {}) }, responseStatus: { code: 201 }, stageTimestamp: '2026-01-01T00:00:01.250000Z' });

  it('reads finished requests only', () => {
    expect(parseAuditLine(line('ResponseComplete', 'create', 'csi-provisioner/v1'))).toEqual({
      verb: 'create',
      userAgent: 'csi-provisioner/v1',
      resource: 'persistentvolumes',
      subresource: '',
      code: 201,
      at: Date.parse('2026-01-01T00:00:01.250Z'),
      receivedAt: 0,
    });
    expect(parseAuditLine(line('RequestReceived', 'create', 'x'))).toBeUndefined();
    expect(parseAuditLine('not json')).toBeUndefined();
  });

  it('tallies the requests of one client by verb and call, and writes apart', () => {
    const t = new RequestTally('csi-attacher/');
    for (const l of [
      line('ResponseComplete', 'patch', 'csi-attacher/v4 (linux/amd64)', 'volumeattachments', 'status'),
      line('ResponseComplete', 'watch', 'csi-attacher/v4 (linux/amd64)', 'volumeattachments'),
      line('ResponseComplete', 'create', 'kube-controller-manager/v1.36', 'volumeattachments'),
    ]) {
      t.add(parseAuditLine(l)!);
    }
    expect(t.total).toBe(2);
    expect(t.writes).toBe(1);
    expect(t.byCall).toEqual({ 'patch volumeattachments/status': 1, 'watch volumeattachments': 1 });
    t.stop();
    t.add(parseAuditLine(line('ResponseComplete', 'get', 'csi-attacher/v4'))!);
    expect(t.total).toBe(2);
  });

  it('counts a window by the time each request was received, with the server time of writes', () => {
    const at = (received: string, done: string, verb: string, resource: string) =>
      parseAuditLine(
        JSON.stringify({ stage: 'ResponseComplete', verb, userAgent: 'csi-provisioner/x', objectRef: { resource }, requestReceivedTimestamp: received, stageTimestamp: done }),
      )!;
    const t = new RequestTally('csi-provisioner/');
    // A watch opened at start-up completes when the sidecar stops: it belongs to the start-up.
    t.add(at('2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:09.000000Z', 'watch', 'persistentvolumes'));
    t.add(at('2026-01-01T00:00:05.000000Z', '2026-01-01T00:00:05.010000Z', 'create', 'persistentvolumes'));
    t.add(at('2026-01-01T00:00:06.000000Z', '2026-01-01T00:00:06.030000Z', 'create', 'persistentvolumes'));
    t.add(at('2026-01-01T00:00:06.500000Z', '2026-01-01T00:00:06.501000Z', 'get', 'persistentvolumeclaims'));
    const w = countWindow(t.calls, Date.parse('2026-01-01T00:00:04Z'), Date.parse('2026-01-01T00:00:10Z'));
    expect(w).toEqual({ byCall: { 'create persistentvolumes': 2, 'get persistentvolumeclaims': 1 }, total: 3, writes: 2, writeServerMs: 20 });
    expect(countWindow(t.calls, 0, 1).writeServerMs).toBeUndefined();
  });
});

describe('/proc parsing', () => {
  it('reads VmRSS and VmHWM from status', () => {
    expect(parseStatus('Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n')).toEqual({ rssKiB: 102400, hwmKiB: 204800 });
    expect(() => parseStatus('Name:\tx\n')).toThrow(/VmRSS/);
  });

  it('reads utime + stime even when the command name has spaces and parentheses', () => {
    const stat = '1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 200';
    expect(parseStatCpuTicks(stat)).toBe(300);
  });

  it('computes the CPU share between two samples', () => {
    const s = (at: number, cpuTicks: number) => ({ at, cpuTicks, rssKiB: 0, hwmKiB: 0 });
    expect(cpuFraction(s(0, 0), s(100, 5), 100)).toBeCloseTo(0.5);
    expect(cpuFraction(s(100, 5), s(100, 9), 100)).toBe(0);
  });

  it('samples a live process (this one)', () => {
    const sampler = new ProcSampler(process.pid, 10_000);
    sampler.stop();
    expect(sampler.samples).toHaveLength(1);
    expect(sampler.last!.rssKiB).toBeGreaterThan(0);
    expect(sampler.peakKiB()).toBeGreaterThanOrEqual(sampler.last!.rssKiB);
  });
});
