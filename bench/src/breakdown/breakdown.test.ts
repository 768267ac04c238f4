import { describe, expect, it } from '@jest/globals';
import { breakdownRows, metricsDelta, renderBreakdown, shortMethod, type RunBreakdown } from './breakdown.js';
import { functionLabel, mergeSummaries, moduleOf, parseCpuProfile, summarizeCpuProfile, type CpuProfile } from './cpu-profile.js';
import { counterBy, deltaCountSum, histogramBy, parsePrometheusText } from './prom-text.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 });

/** root → (idle) 2, a 3, b 4 (b under a); samples every 1 ms from t = 1000 µs. */
function profile(): CpuProfile {
  return {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('syncClaim', 'file:///w/packages/provisioner/dist/controller/provisioner.js', 9), children: [4] },
      { id: 4, callFrame: frame('parse', 'file:///w/node_modules/@kubernetes/client-node/dist/x.js', 0) },
      { id: 5, callFrame: frame('(garbage collector)') },
    ],
    startTime: 0,
    endTime: 9000,
    // sample times: 1000, 2000, … 8000; the last lasts until endTime.
    samples: [2, 3, 3, 4, 4, 4, 5, 2],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };
}

describe('CPU profile summary', () => {
  it('adds self time per function and module, idle apart, each sample worth one sampling interval', () => {
    const s = summarizeCpuProfile(profile());
    expect(s.windowMs).toBe(8);
    expect(s.busyMs).toBe(6);
    expect(s.functions).toEqual([
      { name: 'parse (@kubernetes/client-node/dist/x.js:1)', selfMs: 3, share: 0.5 },
      { name: 'syncClaim (provisioner/dist/controller/provisioner.js:10)', selfMs: 2, share: 2 / 6 },
      { name: '(garbage collector)', selfMs: 1, share: 1 / 6 },
    ]);
    expect(s.modules.map((m) => [m.name, m.selfMs])).toEqual([
      ['@kubernetes/client-node', 3],
      ['provisioner/controller', 2],
      ['(garbage collector)', 1],
    ]);
  });

  it('counts only the samples inside the window', () => {
    const s = summarizeCpuProfile(profile(), { fromUs: 2000, toUs: 4500, top: 1 });
    // samples at 2000 (a), 3000 (a), 4000 (b)
    expect(s.busyMs).toBe(3);
    expect(s.functions).toHaveLength(1);
    expect(s.functions[0]!.name).toMatch(/^syncClaim/);
  });

  it('does not charge a gap between samples (a descheduled process) to the sample before it', () => {
    const p = profile();
    // 40 ms pass between the first 'parse' sample (t = 4000) and the next one.
    p.timeDeltas[4] = 41_000;
    p.endTime += 40_000;
    const s = summarizeCpuProfile(p);
    expect(s.busyMs).toBe(6);
    expect(s.functions[0]).toEqual({ name: 'parse (@kubernetes/client-node/dist/x.js:1)', selfMs: 3, share: 0.5 });
    expect(summarizeCpuProfile(p, { intervalUs: 500 }).busyMs).toBe(3);
  });

  it('names modules: npm packages (scoped too), our package folders, node built-ins, V8 pseudo-frames', () => {
    expect(moduleOf('file:///r/node_modules/@grpc/grpc-js/build/src/call.js', 'f')).toBe('@grpc/grpc-js');
    expect(moduleOf('file:///r/node_modules/p-queue/dist/index.js', 'f')).toBe('p-queue');
    expect(moduleOf('file:///r/packages/shared/dist/kube/reflector.js', 'f')).toBe('shared/kube');
    expect(moduleOf('file:///r/packages/attacher/dist/main.js', 'f')).toBe('attacher');
    expect(moduleOf('node:internal/streams/readable', 'f')).toBe('node:internal');
    expect(moduleOf('node:net', 'f')).toBe('node:net');
    expect(moduleOf('', '(program)')).toBe('(program)');
    expect(moduleOf('', 'writev')).toBe('(native)');
    expect(functionLabel(frame('', 'file:///r/packages/shared/dist/a.js', 4))).toBe('(anonymous) (shared/dist/a.js:5)');
  });

  it('merges runs by adding self times and recomputing shares', () => {
    const a = summarizeCpuProfile(profile());
    const merged = mergeSummaries([a, a], 2)!;
    expect(merged.busyMs).toBe(12);
    expect(merged.functions.map((f) => [f.selfMs, f.share])).toEqual([
      [6, 0.5],
      [4, 4 / 12],
    ]);
    expect(mergeSummaries([])).toBeUndefined();
  });

  it('rejects a file that is not a CPU profile', () => {
    expect(() => parseCpuProfile('{"nodes": []}')).toThrow(/not a V8 CPU profile/);
    expect(parseCpuProfile(JSON.stringify(profile())).samples).toHaveLength(8);
  });
});

const scrape = (createCount: number, createSum: number, waitCount: number, retries: number) => `
# HELP csi_sidecar_operations_seconds [ALPHA] Container Storage Interface operation duration with gRPC error code status total
# TYPE csi_sidecar_operations_seconds histogram
csi_sidecar_operations_seconds_bucket{driver_name="d",grpc_status_code="OK",method_name="/csi.v1.Controller/CreateVolume",le="+Inf"} ${createCount}
csi_sidecar_operations_seconds_sum{driver_name="d",grpc_status_code="OK",method_name="/csi.v1.Controller/CreateVolume"} ${createSum}
csi_sidecar_operations_seconds_count{driver_name="d",grpc_status_code="OK",method_name="/csi.v1.Controller/CreateVolume"} ${createCount}
csi_sidecar_operations_seconds_sum{driver_name="d",grpc_status_code="OK",method_name="/csi.v1.Identity/Probe"} 0.5
csi_sidecar_operations_seconds_count{driver_name="d",grpc_status_code="OK",method_name="/csi.v1.Identity/Probe"} 1
workqueue_queue_duration_seconds_sum{name="claims"} ${waitCount * 0.01}
workqueue_queue_duration_seconds_count{name="claims"} ${waitCount}
workqueue_work_duration_seconds_sum{name="claims"} ${waitCount * 0.002}
workqueue_work_duration_seconds_count{name="claims"} ${waitCount}
workqueue_retries_total{name="claims"} ${retries}
`;

describe('Prometheus text', () => {
  it('parses samples with labels, escapes and special values', () => {
    const s = parsePrometheusText('# HELP x y\nx_total{a="1",b="q\\"uote"} 3\ny +Inf\nbad line\n');
    expect(s).toEqual([
      { name: 'x_total', labels: { a: '1', b: 'q"uote' }, value: 3 },
      { name: 'y', labels: {}, value: Infinity },
    ]);
  });

  it('groups histogram count/sum and counters by a label, and subtracts scrapes', () => {
    const before = parsePrometheusText(scrape(2, 0.2, 0, 0));
    const after = parsePrometheusText(scrape(10, 1.0, 8, 3));
    expect(histogramBy(after, 'csi_sidecar_operations_seconds', 'method_name').get('/csi.v1.Controller/CreateVolume')).toEqual({ count: 10, sum: 1 });
    expect(counterBy(after, 'workqueue_retries_total', 'name').get('claims')).toBe(3);
    const d = deltaCountSum(histogramBy(before, 'csi_sidecar_operations_seconds', 'method_name'), histogramBy(after, 'csi_sidecar_operations_seconds', 'method_name'));
    // Probe did not change: left out.
    expect([...d.keys()]).toEqual(['/csi.v1.Controller/CreateVolume']);
    expect(d.get('/csi.v1.Controller/CreateVolume')!.count).toBe(8);
    expect(d.get('/csi.v1.Controller/CreateVolume')!.sum).toBeCloseTo(0.8);
  });
});

describe('breakdown', () => {
  it('turns two scrapes into the load\'s CSI calls, queue waits, work and retries', () => {
    const m = metricsDelta(parsePrometheusText(scrape(2, 0.2, 0, 0)), parsePrometheusText(scrape(10, 1.0, 8, 3)));
    expect(Object.keys(m.csi)).toEqual(['CreateVolume']);
    expect(m.csi.CreateVolume!.count).toBe(8);
    expect(m.queueWait.claims).toEqual({ count: 8, sum: 0.08 });
    expect(m.work.claims!.count).toBe(8);
    expect(m.retries).toEqual({ claims: 3 });
    expect(shortMethod('/csi.v1.Controller/ControllerPublishVolume')).toBe('ControllerPublishVolume');
  });

  const run = (objects: number, calls: Record<string, number>, cpuSeconds: number, csiCount: number, csiSum: number): RunBreakdown => ({
    objects,
    calls,
    requests: Object.values(calls).reduce((a, b) => a + b, 0),
    writes: calls['create persistentvolumes'] ?? 0,
    writeServerMs: 5,
    cpuSeconds,
    metrics: { csi: { CreateVolume: { count: csiCount, sum: csiSum } }, queueWait: {}, work: {}, retries: {} },
  });

  it('compares both sides per object, medians over the runs', () => {
    const ours = [run(10, { 'create persistentvolumes': 10, 'create leases': 10 }, 1, 10, 0.5), run(10, { 'create persistentvolumes': 10, 'create leases': 10 }, 3, 10, 0.5)];
    const go = [run(10, { 'create persistentvolumes': 10, 'get persistentvolumes': 5 }, 0.5, 10, 0.1)];
    const rows = breakdownRows(ours, go);
    const row = (label: string) => rows.find((r) => r.label === label);
    expect(row('API requests per object')).toMatchObject({ ours: 2, go: 1.5 });
    expect(row('· create leases')).toMatchObject({ ours: 1, go: 0 });
    expect(row('· get persistentvolumes')).toMatchObject({ ours: 0, go: 0.5 });
    expect(row('CPU per object')).toMatchObject({ ours: 200, go: 50 });
    expect(row('CSI CreateVolume: duration (mean)')!.ours).toBeCloseTo(50);
    expect(row('CSI CreateVolume: duration (mean)')!.go).toBeCloseTo(10);
    expect(row('API server time per write (mean)')).toMatchObject({ ours: 5, go: 5 });
  });

  it('sums the calls beyond the first ten into one row', () => {
    const calls = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`get thing${String(i).padStart(2, '0')}`, 12 - i]));
    const rows = breakdownRows([run(1, calls, 0, 0, 0)], []);
    expect(rows.filter((r) => r.label.startsWith('· get'))).toHaveLength(10);
    expect(rows.find((r) => r.label.startsWith('· other'))).toMatchObject({ label: '· other (2 kinds)', ours: 3, go: undefined });
  });

  it('renders a table and ours\' profile; nothing without breakdowns', () => {
    expect(renderBreakdown([])).toEqual([]);
    const withProfile = { ...run(10, { 'create persistentvolumes': 10 }, 1, 10, 0.5), profile: summarizeCpuProfile(profile()) };
    const md = renderBreakdown([{ profile: 'lifted', ours: [withProfile], go: [run(10, { 'create persistentvolumes': 10 }, 0.5, 10, 0.1)] }]).join('\n');
    expect(md).toContain('### Where the time goes');
    expect(md).toContain('| lifted | CPU per object (ms) | 100 | 50.0 | 2.00× |');
    expect(md).toContain('| `parse (@kubernetes/client-node/dist/x.js:1)` | 3 | 50.0% |');
    expect(md).toContain('By module: @kubernetes/client-node 50%');
  });
});
