export {
  InMemoryLeaseClient,
  InMemoryLeaseStore,
  type LeaseClientFaults,
} from './in-memory-lease-client.js';
export {
  LeaseClientError,
  isLeaseConflict,
  isLeaseNotFound,
  leaseErrorStatusCode,
  type LeaseObject,
  type LeaseClient,
  type LeaseMetadata,
  type LeaseSpec,
} from './lease.js';
export { formatMicroTime, leaseClientFromApi, type LeaseApi } from './lease-client-api.js';
export { leaseClientFromKube } from './lease-client-kube.js';
export {
  DEFAULT_HEALTH_CHECK_TIMEOUT_MS,
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  LeaderElector,
  type LeaderElectionHealthCheck,
  type LeaderElectorOptions,
  type StoppedLeadingInfo,
} from './leader-elector.js';
export { leaderElectionMetrics, noLeaderElectionMetrics, type LeaderElectionMetrics } from './metrics.js';
export {
  SERVICE_ACCOUNT_NAMESPACE_FILE,
  leaderIdentity,
  leaseNameFor,
  leaseNamespace,
  sanitizeName,
  type LeaseNamespaceSources,
  type SidecarName,
} from './naming.js';
