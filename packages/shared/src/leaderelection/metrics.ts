// client-go leader-election metrics (component-base names and help texts) on an injected Registry.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface LeaderElectionMetrics {
  leaderOn(name: string): void;
  leaderOff(name: string): void;
  slowpathExercised(name: string): void;
}

const byRegistry = new WeakMap<Registry, LeaderElectionMetrics>();

export function leaderElectionMetrics(registry: Registry): LeaderElectionMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const status = new Gauge({
    name: 'leader_election_master_status',
    help:
      "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
    labelNames: ['name'],
    registers,
  });
  const slowpath = new Counter({
    name: 'leader_election_slowpath_total',
    help: "Total number of slow path exercised in renewing leader leases. 'name' is the string used to identify the lease. Please make sure to group by name.",
    labelNames: ['name'],
    registers,
  });
  const created: LeaderElectionMetrics = {
    leaderOn: (name) => status.set({ name }, 1),
    leaderOff: (name) => status.set({ name }, 0),
    slowpathExercised: (name) => slowpath.inc({ name }),
  };
  byRegistry.set(registry, created);
  return created;
}

export const noLeaderElectionMetrics: LeaderElectionMetrics = {
  leaderOn: () => undefined,
  leaderOff: () => undefined,
  slowpathExercised: () => undefined,
};
