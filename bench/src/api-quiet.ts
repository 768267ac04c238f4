// How long the sidecar must have made no API request before the load starts, so that both
// implementations begin the load with a full client-side token bucket: a bucket emptied by the
// start-up refills at qps tokens per second, burst/qps seconds from empty to full.

/** At least this long in any case (left-over start-up work). */
export const MIN_API_QUIET_MS = 1000;

/** ms of API silence after which a token bucket with these limits is full again (no limit: the minimum). */
export function apiQuietBeforeLoadMs(qps: number, burst: number): number {
  if (!(qps > 0) || !Number.isFinite(qps)) return MIN_API_QUIET_MS;
  return Math.max(MIN_API_QUIET_MS, Math.ceil((Math.max(1, burst) / qps) * 1000));
}
