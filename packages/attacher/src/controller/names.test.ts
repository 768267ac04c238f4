import { describe, expect, it } from '@jest/globals';
import { attacherFinalizer, attacherLeaseName, sanitizeDriverName } from './names.js';

describe('driver-derived names', () => {
  it.each([
    ['ebs.csi.aws.com', 'ebs-csi-aws-com'],
    ['io.kubernetes.storage.mock', 'io-kubernetes-storage-mock'],
    ['driver_with/odd:chars', 'driver-with-odd-chars'],
    ['ends.with.dot.', 'ends-with-dot-X'],
    ['ends-with-dash-', 'ends-with-dash-X'],
    ['Plain-Name1', 'Plain-Name1'],
  ])('sanitizes %s as %s', (driver, want) => {
    expect(sanitizeDriverName(driver)).toBe(want);
  });

  it('builds the finalizer and the lease name the Go attacher uses', () => {
    expect(attacherFinalizer('ebs.csi.aws.com')).toBe('external-attacher/ebs-csi-aws-com');
    expect(attacherLeaseName('ebs.csi.aws.com')).toBe('external-attacher-leader-ebs-csi-aws-com');
  });
});
