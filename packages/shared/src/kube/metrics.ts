// client-go's REST client metrics, for the sidecar's /metrics: the same names and labels as
// k8s.io/component-base/metrics/prometheus/restclient, so existing dashboards and alerts apply.

import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { RequestRecord } from './transport.js';

const LATENCY_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** Registers the metrics (once per registry) and returns the hook to pass as `onRequest`. */
export function restClientMetrics(registry: Registry): (rec: RequestRecord) => void {
  const total = reuse(
    registry,
    'rest_client_requests_total',
    () =>
      new Counter({
        name: 'rest_client_requests_total',
        help: 'Number of HTTP requests, partitioned by status code, method, and host.',
        labelNames: ['code', 'method', 'host'],
        registers: [registry],
      }),
  );
  const duration = reuse(
    registry,
    'rest_client_request_duration_seconds',
    () =>
      new Histogram({
        name: 'rest_client_request_duration_seconds',
        help: 'Request latency in seconds. Broken down by verb, and host.',
        labelNames: ['verb', 'host'],
        buckets: LATENCY_BUCKETS,
        registers: [registry],
      }),
  );
  const limiter = reuse(
    registry,
    'rest_client_rate_limiter_duration_seconds',
    () =>
      new Histogram({
        name: 'rest_client_rate_limiter_duration_seconds',
        help: 'Client side rate limiter latency in seconds. Broken down by verb, and host.',
        labelNames: ['verb', 'host'],
        buckets: LATENCY_BUCKETS,
        registers: [registry],
      }),
  );
  return (rec) => {
    total.inc({ code: rec.code, method: rec.method, host: rec.host });
    // A watch's duration is its lifetime, which says nothing about latency; client-go skips it too.
    if (!rec.stream) duration.observe({ verb: rec.method, host: rec.host }, rec.durationMs / 1000);
    limiter.observe({ verb: rec.method, host: rec.host }, rec.rateLimiterWaitMs / 1000);
  };
}
