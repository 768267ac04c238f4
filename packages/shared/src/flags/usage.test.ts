import { describe, expect, it } from '@jest/globals';
import { boolFlag, customFlag, durationFlag, stringFlag, uintFlag } from './definitions.js';
import { formatUsage } from './usage.js';

function defs() {
  return {
    timeoutMs: durationFlag('timeout', 15_000, 'Timeout of each call.'),
    address: stringFlag('csi-address', '/run/csi/socket', 'Unix socket of the driver.'),
    endpoint: stringFlag('http-endpoint', '', 'Listen address, e.g. `:8080`.'),
    leader: boolFlag('leader-election', false, 'Elect a leader.'),
    immediate: boolFlag('immediate-topology', true, 'Pass cluster topology.'),
    workers: uintFlag('worker-threads', 10, 'Workers.'),
    resyncMs: durationFlag('resync', 0, 'Resync.'),
    v: customFlag<number>({ name: 'v', usage: 'Verbosity.', typeName: 'Level', initial: () => 0, set: Number, opts: { shorthand: 'v' } }),
    old: stringFlag('metrics-address', '', 'Old.', { deprecated: 'use --http-endpoint instead' }),
    secret: boolFlag('logtostderr', true, 'klog.', { hidden: true }),
  };
}

describe('formatUsage', () => {
  it('lays out flags like Go\'s flag package', () => {
    expect(formatUsage(defs(), { program: 'csi-attacher', dialect: 'goflag', footer: 'Footer.' })).toBe(
      [
        'Usage of csi-attacher:',
        '  -csi-address string',
        '    \tUnix socket of the driver. (default "/run/csi/socket")',
        '  -http-endpoint :8080',
        '    \tListen address, e.g. :8080.',
        '  -immediate-topology',
        '    \tPass cluster topology. (default true)',
        '  -leader-election',
        '    \tElect a leader.',
        '  -metrics-address string',
        '    \tOld. (DEPRECATED: use --http-endpoint instead)',
        '  -resync duration',
        '    \tResync.',
        '  -timeout duration',
        '    \tTimeout of each call. (default 15s)',
        '  -v value',
        '    \tVerbosity.',
        '  -worker-threads uint',
        '    \tWorkers. (default 10)',
        '',
        'Footer.',
        '',
      ].join('\n'),
    );
  });

  it('lays out flags like pflag, with shorthands, aligned', () => {
    const text = formatUsage(defs(), { program: 'csi-provisioner', dialect: 'pflag' });
    // The text column is the longest flag column plus three spaces, as pflag computes it.
    expect(text.split('\n')).toEqual([
      'Usage of csi-provisioner:',
      '      --csi-address string       Unix socket of the driver. (default "/run/csi/socket")',
      '      --http-endpoint :8080      Listen address, e.g. :8080.',
      '      --immediate-topology       Pass cluster topology. (default true)',
      '      --leader-election          Elect a leader.',
      '      --metrics-address string   Old. (DEPRECATED: use --http-endpoint instead)',
      '      --resync duration          Resync.',
      '      --timeout duration         Timeout of each call. (default 15s)',
      '  -v, --v Level                  Verbosity.',
      '      --worker-threads uint      Workers. (default 10)',
      '',
    ]);
    expect(text).not.toContain('logtostderr');
  });
});
