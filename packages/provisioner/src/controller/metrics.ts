// sig-storage-lib-external-provisioner's controller metrics, same names, help, labels and
// buckets (Prometheus defaults), so dashboards keep working. Unlike the library, attempts that
// are ignored or stopped on purpose (not our node, populator data source, PV already there,
// rescheduled) are not counted as failures.

import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

export const PROVISION_TOTAL = 'controller_persistentvolumeclaim_provision_total';
export const PROVISION_FAILED_TOTAL = 'controller_persistentvolumeclaim_provision_failed_total';
export const PROVISION_DURATION = 'controller_persistentvolumeclaim_provision_duration_seconds';
export const DELETE_TOTAL = 'controller_persistentvolume_delete_total';
export const DELETE_FAILED_TOTAL = 'controller_persistentvolume_delete_failed_total';
export const DELETE_DURATION = 'controller_persistentvolume_delete_duration_seconds';

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ProvisionerMetrics {
  provisionSucceeded(storageClass: string, source: string, seconds: number): void;
  provisionFailed(storageClass: string, source: string): void;
  deleteSucceeded(storageClass: string, seconds: number): void;
  deleteFailed(storageClass: string): void;
}

export const noProvisionerMetrics: ProvisionerMetrics = {
  provisionSucceeded: () => undefined,
  provisionFailed: () => undefined,
  deleteSucceeded: () => undefined,
  deleteFailed: () => undefined,
};

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function provisionerMetrics(registry: Registry): ProvisionerMetrics {
  const registers = [registry];
  const provTotal = reuse(registry, PROVISION_TOTAL, () => new Counter({
    name: PROVISION_TOTAL,
    help: 'Total number of persistent volumes provisioned succesfully. Broken down by storage class name and source of the claim.',
    labelNames: ['class', 'source'] as const,
    registers,
  }));
  const provFailed = reuse(registry, PROVISION_FAILED_TOTAL, () => new Counter({
    name: PROVISION_FAILED_TOTAL,
    help: 'Total number of persistent volume provision failed attempts. Broken down by storage class name and source of the claim.',
    labelNames: ['class', 'source'] as const,
    registers,
  }));
  const provDuration = reuse(registry, PROVISION_DURATION, () => new Histogram({
    name: PROVISION_DURATION,
    help: 'Latency in seconds to provision persistent volumes. Failed provisioning attempts are ignored. Broken down by storage class name and source of the claim.',
    labelNames: ['class', 'source'] as const,
    buckets: DEFAULT_BUCKETS,
    registers,
  }));
  const delTotal = reuse(registry, DELETE_TOTAL, () => new Counter({
    name: DELETE_TOTAL,
    help: 'Total number of persistent volumes deleted succesfully. Broken down by storage class name.',
    labelNames: ['class'] as const,
    registers,
  }));
  const delFailed = reuse(registry, DELETE_FAILED_TOTAL, () => new Counter({
    name: DELETE_FAILED_TOTAL,
    help: 'Total number of persistent volume delete failed attempts. Broken down by storage class name.',
    labelNames: ['class'] as const,
    registers,
  }));
  const delDuration = reuse(registry, DELETE_DURATION, () => new Histogram({
    name: DELETE_DURATION,
    help: 'Latency in seconds to delete persistent volumes. Failed deletion attempts are ignored. Broken down by storage class name.',
    labelNames: ['class'] as const,
    buckets: DEFAULT_BUCKETS,
    registers,
  }));
  return {
    provisionSucceeded(cls, source, seconds) {
      provTotal.inc({ class: cls, source });
      provDuration.observe({ class: cls, source }, seconds);
    },
    provisionFailed(cls, source) {
      provFailed.inc({ class: cls, source });
    },
    deleteSucceeded(cls, seconds) {
      delTotal.inc({ class: cls });
      delDuration.observe({ class: cls }, seconds);
    },
    deleteFailed(cls) {
      delFailed.inc({ class: cls });
    },
  };
}
