// The flags every sidecar shares, with the Go names and defaults: csi-lib-utils' standard flags,
// component-base's logging flags, and the classic klog flags (accepted as no-ops so old command
// lines still start). Plus the start-up checks on them that need no cluster.

import {
  boolFlag,
  customFlag,
  durationFlag,
  enumFlag,
  floatFlag,
  intFlag,
  quantityFlag,
  stringFlag,
  stringMapFlag,
  uintFlag,
  type FlagValues,
} from './definitions.js';
import { formatDurationMs, goQuote, parseGoUint } from './go-syntax.js';
import { labelKeyProblem, labelValueProblem } from './label-syntax.js';

/** csi-lib-utils' standard flags, registered by all three Go sidecars. */
export function standardSidecarFlags() {
  return {
    version: boolFlag('version', false, 'Print the version and exit.'),
    kubeconfig: stringFlag(
      'kubeconfig',
      '',
      'Path to a kubeconfig file, for running outside the cluster. The KUBECONFIG environment variable, if set, takes precedence.',
    ),
    csiAddress: stringFlag('csi-address', '/run/csi/socket', 'Unix socket of the CSI driver (a path or a unix:// URL).'),
    leaderElection: boolFlag('leader-election', false, 'Elect a leader through a Lease; needed when running more than one replica.'),
    leaderElectionNamespace: stringFlag(
      'leader-election-namespace',
      '',
      'Namespace of the leader-election Lease. Empty means the pod namespace (POD_NAMESPACE, then the service account namespace).',
    ),
    leaderElectionLeaseDurationMs: durationFlag(
      'leader-election-lease-duration',
      15_000,
      'How long other replicas wait before taking over a lease that was not renewed.',
    ),
    leaderElectionRenewDeadlineMs: durationFlag(
      'leader-election-renew-deadline',
      10_000,
      'How long the leader keeps trying to renew its lease before it gives up leadership.',
    ),
    leaderElectionRetryPeriodMs: durationFlag(
      'leader-election-retry-period',
      5_000,
      'How long replicas wait between attempts to acquire or renew the lease.',
    ),
    leaderElectionLabels: stringMapFlag(
      'leader-election-labels',
      'Labels put on the Lease while this replica leads, as comma-separated key:value pairs, e.g. team:storage,tier:csi.',
      { separator: ':' },
    ),
    kubeApiQps: floatFlag('kube-api-qps', 5, 'Queries per second allowed towards the Kubernetes API server.'),
    kubeApiBurst: intFlag('kube-api-burst', 10, 'Burst of queries allowed towards the Kubernetes API server.', { min: 0 }),
    httpEndpoint: stringFlag(
      'http-endpoint',
      '',
      'host:port of the diagnostics HTTP server (metrics and the leader-election health check), e.g. ":8080". Empty disables it. Cannot be combined with --metrics-address.',
    ),
    metricsAddress: stringFlag(
      'metrics-address',
      '',
      'host:port for metrics only, without the leader-election health check. Cannot be combined with --http-endpoint.',
      { deprecated: 'use --http-endpoint instead' },
    ),
    metricsPath: stringFlag('metrics-path', '/metrics', 'HTTP path of the Prometheus metrics.'),
    automaxprocs: boolFlag('automaxprocs', false, 'Accepted for compatibility; a Go runtime setting with no effect here.'),
  };
}

export interface VModuleItem {
  pattern: string;
  level: number;
}

const MAX_LEVEL = 2 ** 31 - 1;

function parseLevel(raw: string): number {
  const v = parseGoUint(raw);
  if (v > BigInt(MAX_LEVEL)) throw new Error('value out of range');
  return Number(v);
}

/** component-base's logging flags (`-v`, `--logging-format`, ...). */
export function loggingFlags() {
  return {
    v: customFlag<number>({
      name: 'v',
      usage: 'Log verbosity: higher numbers log more.',
      typeName: 'Level',
      initial: () => 0,
      set: (raw) => parseLevel(raw),
      opts: { shorthand: 'v' },
    }),
    vmodule: customFlag<VModuleItem[]>({
      name: 'vmodule',
      usage: 'Comma-separated pattern=N settings for per-file verbosity. Accepted for compatibility; has no effect here.',
      typeName: 'pattern=N,...',
      initial: () => [],
      set: (raw, current) => {
        const items = [...current];
        for (const item of raw.split(',')) {
          if (item === '') continue;
          const parts = item.split('=');
          if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
            throw new Error(`${goQuote(item)} does not have the pattern=N format`);
          }
          items.push({ pattern: parts[0]!, level: parseLevel(parts[1]!) });
        }
        return items;
      },
    }),
    loggingFormat: enumFlag('logging-format', 'text', ['text', 'json'], 'Log line format: "text" (klog style) or "json".'),
    logFlushFrequencyMs: durationFlag(
      'log-flush-frequency',
      5_000,
      'Longest time between log flushes. Accepted for compatibility; logs are written unbuffered here.',
      { positive: true },
    ),
    logTextSplitStream: boolFlag(
      'log-text-split-stream',
      false,
      '[Alpha] Text format: errors to stderr, the rest to stdout. Accepted for compatibility; has no effect here.',
    ),
    logTextInfoBufferSize: quantityFlag(
      'log-text-info-buffer-size',
      '0',
      '[Alpha] Text format with split streams: buffer size for info lines. Accepted for compatibility; has no effect here.',
    ),
    logJsonSplitStream: boolFlag(
      'log-json-split-stream',
      false,
      '[Alpha] JSON format: errors to stderr, the rest to stdout. Accepted for compatibility; has no effect here.',
    ),
    logJsonInfoBufferSize: quantityFlag(
      'log-json-info-buffer-size',
      '0',
      '[Alpha] JSON format with split streams: buffer size for info lines. Accepted for compatibility; has no effect here.',
    ),
  };
}

const KLOG_NO_EFFECT = 'it has no effect: klog output flags are not supported; logs always go to stderr';

/**
 * The classic klog flags older sidecar releases registered (the current Go sidecars refuse them).
 * Accepted and ignored with a warning, so a command line carried over from an old release starts.
 */
export function legacyKlogFlags() {
  const opts = { deprecated: KLOG_NO_EFFECT, hidden: true };
  return {
    logtostderr: boolFlag('logtostderr', true, 'klog: log to stderr.', opts),
    alsologtostderr: boolFlag('alsologtostderr', false, 'klog: log to stderr as well as files.', opts),
    logDir: stringFlag('log-dir', '', 'klog: directory for log files.', opts),
    logFile: stringFlag('log-file', '', 'klog: log file.', opts),
    logFileMaxSize: uintFlag('log-file-max-size', 1800, 'klog: maximum log file size in MB.', opts),
    skipHeaders: boolFlag('skip-headers', false, 'klog: omit line headers.', opts),
    skipLogHeaders: boolFlag('skip-log-headers', false, 'klog: omit log file headers.', opts),
    oneOutput: boolFlag('one-output', false, 'klog: write each line to its own severity file only.', opts),
    addDirHeader: boolFlag('add-dir-header', false, 'klog: add the file directory to line headers.', opts),
    stderrthreshold: stringFlag('stderrthreshold', '2', 'klog: lowest severity written to stderr.', opts),
    logBacktraceAt: stringFlag('log-backtrace-at', '', 'klog: file:line that logs a stack trace.', opts),
    legacyStderrThresholdBehavior: boolFlag(
      'legacy-stderr-threshold-behavior',
      true,
      'klog: old stderrthreshold semantics.',
      opts,
    ),
  };
}

/** Every flag shared by the three sidecars: standard, logging and klog compatibility flags. */
export function commonSidecarFlags() {
  return { ...standardSidecarFlags(), ...loggingFlags(), ...legacyKlogFlags() };
}

/** The footer for help text, naming what is accepted but does nothing. */
export const COMPATIBILITY_HELP_NOTE =
  'Also accepted for compatibility with older Go sidecar command lines, with no effect: the klog flags\n' +
  '--logtostderr, --alsologtostderr, --log-dir, --log-file, --log-file-max-size, --skip-headers,\n' +
  '--skip-log-headers, --one-output, --add-dir-header, --stderrthreshold, --log-backtrace-at,\n' +
  '--legacy-stderr-threshold-behavior' +
  ' (underscores work in place of dashes, e.g. --add_dir_header).';

/** --master, defined by the provisioner and the resizer (not the attacher). */
export function masterFlag() {
  return stringFlag('master', '', 'API server URL, for running outside the cluster (alternative to --kubeconfig).');
}

/** --retry-interval-start/-max with the defaults all three sidecars use. */
export function retryIntervalFlags(what: string) {
  return {
    retryIntervalStartMs: durationFlag(
      'retry-interval-start',
      1_000,
      `First retry delay after a failed ${what}; it doubles with each failure up to --retry-interval-max.`,
      { minMs: 0 },
    ),
    retryIntervalMaxMs: durationFlag('retry-interval-max', 300_000, `Longest retry delay after a failed ${what}.`, {
      minMs: 0,
    }),
  };
}

/** --timeout for CSI calls; each sidecar has its own default (provisioner 10s, attacher 15s, resizer 10s). */
export function timeoutFlag(defaultMs: number, usage: string) {
  return durationFlag('timeout', defaultMs, usage, { positive: true });
}

export type StandardSidecarValues = FlagValues<ReturnType<typeof standardSidecarFlags>>;

// host:port as net.Listen takes it: the host may be empty, a name, an IPv4 address or a bracketed IPv6 address.
function endpointProblem(value: string): string | undefined {
  const colon = value.lastIndexOf(':');
  if (colon < 0) return 'missing port (want host:port, e.g. ":8080")';
  const host = value.slice(0, colon);
  const port = value.slice(colon + 1);
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return `bad port ${goQuote(port)} (want 0-65535)`;
  if (host.includes(':') && !/^\[[^\]]+\]$/.test(host)) return 'an IPv6 host must be in brackets, e.g. "[::]:8080"';
  return undefined;
}

/**
 * Start-up checks on the standard flags that the Go sidecars make (or fail on later with an
 * unclear error). Returns one message per problem, each naming the flag; empty when all is well.
 */
export function validateStandardFlags(values: StandardSidecarValues): string[] {
  const problems: string[] = [];
  if (values.httpEndpoint !== '' && values.metricsAddress !== '') {
    problems.push('only one of --metrics-address and --http-endpoint can be set');
  }
  for (const [flag, value] of [
    ['http-endpoint', values.httpEndpoint],
    ['metrics-address', values.metricsAddress],
  ] as const) {
    if (value === '') continue;
    const problem = endpointProblem(value);
    if (problem) problems.push(`--${flag}=${goQuote(value)}: ${problem}`);
  }
  if (!values.metricsPath.startsWith('/')) {
    problems.push(`--metrics-path=${goQuote(values.metricsPath)}: must start with "/"`);
  }
  if (values.csiAddress === '') {
    problems.push('--csi-address must not be empty');
  } else if (!values.csiAddress.startsWith('/') && !values.csiAddress.startsWith('unix:')) {
    problems.push(
      `--csi-address=${goQuote(values.csiAddress)}: want an absolute unix socket path or a unix:// URL (only unix sockets are supported, as in the Go sidecars)`,
    );
  }
  if (values.leaderElection) {
    const lease = values.leaderElectionLeaseDurationMs;
    const renew = values.leaderElectionRenewDeadlineMs;
    const retry = values.leaderElectionRetryPeriodMs;
    const show = formatDurationMs;
    if (lease <= 0) problems.push('--leader-election-lease-duration must be greater than 0s');
    if (renew <= 0) problems.push('--leader-election-renew-deadline must be greater than 0s');
    if (retry <= 0) problems.push('--leader-election-retry-period must be greater than 0s');
    if (lease <= renew) {
      problems.push(
        `--leader-election-lease-duration (${show(lease)}) must be greater than --leader-election-renew-deadline (${show(renew)})`,
      );
    }
    // client-go adds up to 20% jitter to the retry period.
    if (renew <= retry * 1.2) {
      problems.push(
        `--leader-election-renew-deadline (${show(renew)}) must be greater than 1.2 × --leader-election-retry-period (${show(retry)})`,
      );
    }
  }
  for (const [key, value] of Object.entries(values.leaderElectionLabels)) {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem) problems.push(`--leader-election-labels: label ${goQuote(`${key}:${value}`)}: ${problem}`);
  }
  return problems;
}
