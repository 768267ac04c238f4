// The soak machinery itself (e2e/src/soak, `npm run soak`), at a very small size so it runs in
// `npm test`: 10 claims created, attached, expanded and deleted on a control plane of its own,
// with one fault of each kind — the plugin's socket gone once, kube-apiserver killed and
// restarted once, one sidecar SIGKILLed — and the three sidecars restarted like kubelet would.
// The run must converge: every claim done, no leaked volume, no stuck object, no journal entry.
// The full soak (1000 claims, the plugin lost every few seconds, two API server restarts, five
// SIGKILLs) is `npm run soak`; see its summary for the figures.
import { describe, expect, it } from '@jest/globals';
import { formatReport, runSoak } from '../../src/soak/soak.js';

describe('soak (small)', () => {
  it('10 claims through create/attach/expand/delete under one fault of each kind: converged, nothing leaked or stuck', async () => {
    const lines: string[] = [];
    const report = await runSoak({
      claims: 10,
      concurrency: 10,
      nodes: 1,
      pluginKillEveryMs: 3000,
      pluginKillsMax: 1,
      apiserverRestarts: 1,
      apiserverDownMs: 1000,
      sidecarKills: 1,
      timeoutMs: 60_000,
      convergeTimeoutMs: 30_000,
      log: (l) => lines.push(l),
    });
    const summary = formatReport(report);
    process.stderr.write(`${summary}\n`);
    if (!report.ok) process.stderr.write(`${lines.join('\n')}\n`);
    expect(report.problems).toEqual([]);
    expect(report.claimsDone).toBe(10);
    expect(report.leakedVolumes).toBe(0);
    expect(report.danglingPvs).toBe(0);
    expect(report.stuckObjects).toEqual([]);
    expect(report.faults.pluginLosses).toBe(1);
    expect(report.faults.apiserverRestarts).toBe(1);
    expect(report.faults.sidecarKills).toHaveLength(1);
    // The plugin loss makes the connected sidecars exit 1 (as the Go ones do) and the SIGKILL one
    // more; the supervisor brought each back (all three are running at the end: no problem above).
    const exits = Object.values(report.restarts);
    expect(exits.reduce((n, r) => n + r.total, 0)).toBeGreaterThanOrEqual(2);
    expect(exits.reduce((n, r) => n + (r.exitCodes['1'] ?? 0), 0)).toBeGreaterThanOrEqual(1);
  }, 150_000);
});
