import { describe, expect, it } from '@jest/globals';
import { SERVICE_ACCOUNT_NAMESPACE_FILE, leaderIdentity, leaseNameFor, leaseNamespace, sanitizeName } from './naming.js';

describe('sanitizeName', () => {
  it('replaces characters outside [a-zA-Z0-9-] and never ends with a dash', () => {
    expect(sanitizeName('hostpath.csi.k8s.io')).toBe('hostpath-csi-k8s-io');
    expect(sanitizeName('a/b_c:d')).toBe('a-b-c-d');
    expect(sanitizeName('driver.')).toBe('driver-X');
    expect(sanitizeName('driver-')).toBe('driver-X');
    expect(() => sanitizeName('')).toThrow(/empty/);
  });
});

describe('leaseNameFor', () => {
  it('matches the Lease names of the Go sidecars', () => {
    expect(leaseNameFor('provisioner', 'hostpath.csi.k8s.io')).toBe('hostpath-csi-k8s-io');
    expect(leaseNameFor('provisioner', 'example.com/foo')).toBe('example-com-foo');
    expect(leaseNameFor('attacher', 'ebs.csi.aws.com')).toBe('external-attacher-leader-ebs-csi-aws-com');
    expect(leaseNameFor('resizer', 'hostpath.csi.k8s.io')).toBe('external-resizer-hostpath-csi-k8s-io');
    expect(leaseNameFor('resizer', 'odd.')).toBe('external-resizer-odd-X');
    expect(() => leaseNameFor('attacher', '')).toThrow(/driver name is empty/);
  });
});

describe('leaderIdentity', () => {
  it('is the sanitized host name with an optional suffix', () => {
    expect(leaderIdentity({ hostname: 'csi-provisioner-7d9f.node1' })).toBe('csi-provisioner-7d9f-node1');
    expect(leaderIdentity({ hostname: 'pod', suffix: '_attacher' })).toBe('pod-attacher');
    expect(leaderIdentity()).toMatch(/^[a-zA-Z0-9-]+$/);
  });
});

describe('leaseNamespace', () => {
  const noFile = () => undefined;
  it('prefers the flag, then POD_NAMESPACE, then the service-account file, then default', () => {
    expect(leaseNamespace({ flag: 'flagged', env: { POD_NAMESPACE: 'pod' }, readFile: () => 'file' })).toBe('flagged');
    expect(leaseNamespace({ env: { POD_NAMESPACE: 'pod' }, readFile: () => 'file' })).toBe('pod');
    const read = (path: string) => (path === SERVICE_ACCOUNT_NAMESPACE_FILE ? ' kube-system\n' : undefined);
    expect(leaseNamespace({ env: {}, readFile: read })).toBe('kube-system');
    expect(leaseNamespace({ env: {}, readFile: () => '  \n' })).toBe('default');
    expect(leaseNamespace({ env: {}, readFile: noFile })).toBe('default');
  });
});
