import { describe, expect, it } from '@jest/globals';
import { Registry, register as globalRegistry } from 'prom-client';
import { CsiCallError, GrpcCode } from './errors.js';
import { CSI_OPERATIONS_METRIC, CsiOperationMetrics, grpcStatusLabel, registerProcessStartTime } from './metrics.js';

describe('CsiOperationMetrics', () => {
  it('exposes csi_sidecar_operations_seconds with the Go help, labels and buckets', async () => {
    const registry = new Registry();
    const metrics = new CsiOperationMetrics({ registry });
    metrics.record('/csi.v1.Identity/Probe', undefined, 0.2);
    const text = await registry.metrics();
    expect(text).toContain(
      '# HELP csi_sidecar_operations_seconds [ALPHA] Container Storage Interface operation duration with gRPC error code status total',
    );
    expect(text).toContain('# TYPE csi_sidecar_operations_seconds histogram');
    const buckets = [...text.matchAll(/csi_sidecar_operations_seconds_bucket\{le="([^"]+)"/g)].map((m) => m[1]);
    expect(buckets).toEqual(['0.1', '0.25', '0.5', '1', '2.5', '5', '10', '15', '25', '50', '120', '300', '600', '+Inf']);
    expect(text).toContain(
      'csi_sidecar_operations_seconds_count{driver_name="unknown-driver",method_name="/csi.v1.Identity/Probe",grpc_status_code="OK"} 1',
    );
    expect(globalRegistry.getSingleMetric(CSI_OPERATIONS_METRIC)).toBeUndefined();
  });

  it('labels calls with the driver name once known', async () => {
    const registry = new Registry();
    const metrics = new CsiOperationMetrics({ registry });
    metrics.setDriverName('ebs.csi.aws.com');
    metrics.record('/csi.v1.Controller/CreateVolume', new CsiCallError('/csi.v1.Controller/CreateVolume', GrpcCode.DeadlineExceeded, 'slow'), 12);
    metrics.setDriverName('');
    expect(metrics.driverName).toBe('unknown-driver');
    const text = await registry.metrics();
    expect(text).toContain(
      'csi_sidecar_operations_seconds_bucket{le="15",driver_name="ebs.csi.aws.com",method_name="/csi.v1.Controller/CreateVolume",grpc_status_code="DeadlineExceeded"} 1',
    );
    expect(text).toContain(
      'csi_sidecar_operations_seconds_bucket{le="10",driver_name="ebs.csi.aws.com",method_name="/csi.v1.Controller/CreateVolume",grpc_status_code="DeadlineExceeded"} 0',
    );
  });

  it('adds the migrated label only when asked', async () => {
    const registry = new Registry();
    const metrics = new CsiOperationMetrics({ registry, driverName: 'pd.csi.storage.gke.io', withMigratedLabel: true });
    metrics.record('/csi.v1.Controller/DeleteVolume', undefined, 1, true);
    metrics.record('/csi.v1.Controller/DeleteVolume', undefined, 1);
    const text = await registry.metrics();
    expect(text).toContain('grpc_status_code="OK",migrated="true"} 1');
    expect(text).toContain('grpc_status_code="OK",migrated="false"} 1');
  });

  it('adds the migrated label later, replacing the start-up observations', async () => {
    const registry = new Registry();
    const metrics = new CsiOperationMetrics({ registry });
    metrics.record('/csi.v1.Identity/GetPluginInfo', undefined, 0.1);
    metrics.setDriverName('pd.csi.storage.gke.io');
    metrics.enableMigratedLabel();
    metrics.enableMigratedLabel();
    expect(metrics.withMigratedLabel).toBe(true);
    metrics.record('/csi.v1.Controller/CreateVolume', undefined, 1, true);
    metrics.record('/csi.v1.Identity/Probe', undefined, 0.1);
    const text = await registry.metrics();
    expect(text).not.toContain('GetPluginInfo');
    expect(text).toContain(
      'csi_sidecar_operations_seconds_count{driver_name="pd.csi.storage.gke.io",method_name="/csi.v1.Controller/CreateVolume",grpc_status_code="OK",migrated="true"} 1',
    );
    expect(text).toContain('method_name="/csi.v1.Identity/Probe",grpc_status_code="OK",migrated="false"} 1');
  });

  it('shares one histogram between connections on the same registry', async () => {
    const registry = new Registry();
    const a = new CsiOperationMetrics({ registry, driverName: 'a' });
    const b = new CsiOperationMetrics({ registry, driverName: 'b' });
    a.record('/csi.v1.Identity/Probe', undefined, 0.1);
    b.record('/csi.v1.Identity/Probe', undefined, 0.1);
    const text = await registry.metrics();
    expect(text).toContain('_count{driver_name="a",');
    expect(text).toContain('_count{driver_name="b",');
  });
});

describe('grpcStatusLabel', () => {
  it.each([
    [undefined, 'OK'],
    [new CsiCallError('/m', GrpcCode.ResourceExhausted, 'x'), 'ResourceExhausted'],
    [Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 }), 'DeadlineExceeded'],
    [new Error('boom'), 'unknown-non-grpc'],
    [new TypeError('bad request'), 'unknown-non-grpc'],
  ])('%p → %s', (error, label) => {
    expect(grpcStatusLabel(error)).toBe(label);
  });
});

describe('registerProcessStartTime', () => {
  it('registers process_start_time_seconds once', async () => {
    const registry = new Registry();
    registerProcessStartTime(registry, 1700000000.5);
    registerProcessStartTime(registry, 1);
    const text = await registry.metrics();
    expect(text).toContain('process_start_time_seconds 1700000000.5');
    expect(text.match(/^process_start_time_seconds /gm)).toHaveLength(1);
  });
});
