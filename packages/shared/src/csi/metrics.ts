// CSI call metrics, identical in name, help, labels, label values and buckets to csi-lib-utils'
// CSIMetricsManager, so existing dashboards and alerts work unchanged:
//   csi_sidecar_operations_seconds{driver_name, method_name, grpc_status_code[, migrated]}
// Always registered on the Registry passed in, never on prom-client's global one.
import { Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { grpcCodeName, grpcStatusOf } from './errors.js';

export const CSI_OPERATIONS_METRIC = 'csi_sidecar_operations_seconds';
// component-base prefixes the help of ALPHA metrics with their stability level; so do we.
export const CSI_OPERATIONS_HELP =
  '[ALPHA] Container Storage Interface operation duration with gRPC error code status total';
export const CSI_OPERATIONS_BUCKETS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 25, 50, 120, 300, 600];
/** driver_name before GetPluginInfo has answered (Probe and GetPluginInfo itself are recorded under it). */
export const UNKNOWN_DRIVER_NAME = 'unknown-driver';
/** grpc_status_code of a failure that carried no gRPC status. */
export const NON_GRPC_STATUS = 'unknown-non-grpc';

type Label = 'driver_name' | 'method_name' | 'grpc_status_code' | 'migrated';

export interface CsiOperationMetricsOptions {
  registry: Registry;
  /** Empty or omitted: `unknown-driver` until setDriverName(). */
  driverName?: string;
  /**
   * Adds the `migrated` label ("true"/"false"), as the Go sidecars do when the driver is the
   * target of a CSI migration.
   */
  withMigratedLabel?: boolean;
}

/** The grpc_status_code label for a call's outcome: `OK`, a Go code name, or `unknown-non-grpc`. */
export function grpcStatusLabel(error: unknown): string {
  if (error === undefined || error === null) return 'OK';
  const status = grpcStatusOf(error);
  return status ? grpcCodeName(status.code) : NON_GRPC_STATUS;
}

export class CsiOperationMetrics {
  #histogram: Histogram<Label>;
  #withMigrated: boolean;
  readonly #registry: Registry;
  #driverName = UNKNOWN_DRIVER_NAME;

  constructor(options: CsiOperationMetricsOptions) {
    this.#registry = options.registry;
    this.#withMigrated = options.withMigratedLabel ?? false;
    // Several connections may share one registry (one process serving several sidecars): reuse.
    const existing = options.registry.getSingleMetric(CSI_OPERATIONS_METRIC);
    this.#histogram = (existing as Histogram<Label> | undefined) ?? this.#create();
    this.setDriverName(options.driverName ?? '');
  }

  #create(): Histogram<Label> {
    const labelNames: Label[] = ['driver_name', 'method_name', 'grpc_status_code'];
    if (this.#withMigrated) labelNames.push('migrated');
    return new Histogram<Label>({
      name: CSI_OPERATIONS_METRIC,
      help: CSI_OPERATIONS_HELP,
      labelNames,
      buckets: [...CSI_OPERATIONS_BUCKETS],
      registers: [this.#registry],
    });
  }

  get withMigratedLabel(): boolean {
    return this.#withMigrated;
  }

  /**
   * Adds the `migrated` label once the driver turns out to be a CSI-migration target. The Go
   * sidecars reconnect with a new metrics manager then, dropping what the first connection
   * recorded; likewise the histogram is replaced and the start-up calls recorded so far dropped.
   */
  enableMigratedLabel(): void {
    if (this.#withMigrated) return;
    this.#withMigrated = true;
    this.#registry.removeSingleMetric(CSI_OPERATIONS_METRIC);
    this.#histogram = this.#create();
  }

  get driverName(): string {
    return this.#driverName;
  }

  setDriverName(name: string): void {
    this.#driverName = name === '' ? UNKNOWN_DRIVER_NAME : name;
  }

  /**
   * Records one finished call. `method` is the full gRPC method (`/csi.v1.Controller/CreateVolume`),
   * `error` undefined for success.
   */
  record(method: string, error: unknown, seconds: number, migrated = false): void {
    const labels: Partial<Record<Label, string>> = {
      driver_name: this.#driverName,
      method_name: method,
      grpc_status_code: grpcStatusLabel(error),
    };
    if (this.#withMigrated) labels.migrated = migrated ? 'true' : 'false';
    this.#histogram.observe(labels, seconds);
  }
}

export const PROCESS_START_TIME_METRIC = 'process_start_time_seconds';

/**
 * Registers `process_start_time_seconds` (the Go metrics manager adds it to its registry) unless
 * the registry already has it — prom-client's collectDefaultMetrics() registers the same name, so
 * call this only when default metrics are not collected, or after collecting them.
 */
export function registerProcessStartTime(registry: Registry, startSeconds?: number): void {
  if (registry.getSingleMetric(PROCESS_START_TIME_METRIC)) return;
  const start = startSeconds ?? Date.now() / 1000 - process.uptime();
  const gauge = new Gauge({
    name: PROCESS_START_TIME_METRIC,
    help: '[ALPHA] Start time of the process since unix epoch in seconds.',
    registers: [registry],
  });
  gauge.set(start);
}
