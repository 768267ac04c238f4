import { describe, expect, it } from '@jest/globals';
import {
  CONTROLLER_EXPAND_SECRET,
  NODE_PUBLISH_SECRET,
  PROVISIONER_SECRET,
  secretReference,
  secretTemplates,
} from './secrets.js';
import { goExpand, resolveTemplate } from './template.js';

const claim = { name: 'data-0', namespace: 'team-a', annotations: { 'example.com/secret': 'sec-from-ann' } };
const ctx = { pvName: 'pvc-123', claim };

describe('goExpand (os.Expand semantics)', () => {
  const m = (k: string) => `<${k}>`;
  it.each([
    ['plain', 'plain'],
    ['${a}-$b', '<a>-<b>'],
    ['$', '$'],
    ['a$', 'a$'],
    ['${}x', 'x'],
    ['${unterminated', 'unterminated'],
    ['$1x', '<1>x'],
    ['${pvc.annotations[\'k\']}', "<pvc.annotations['k']>"],
    ['$-', '<->'],
    ['$.x', '$.x'],
  ])('%s → %s', (input, want) => {
    expect(goExpand(input, m)).toBe(want);
  });

  it('names unknown tokens', () => {
    expect(() => resolveTemplate('${pv.name}-${nope}', new Map([['pv.name', 'x']]))).toThrow('invalid tokens: ["nope"]');
  });
});

describe('secretTemplates', () => {
  it('reads the specific keys, the deprecated keys, and refuses mixes and halves', () => {
    expect(secretTemplates(PROVISIONER_SECRET, { 'csi.storage.k8s.io/provisioner-secret-name': 'n', 'csi.storage.k8s.io/provisioner-secret-namespace': 'ns' })).toEqual({
      name: 'n',
      namespace: 'ns',
    });
    expect(secretTemplates(PROVISIONER_SECRET, { csiProvisionerSecretName: 'n', csiProvisionerSecretNamespace: 'ns' })).toEqual({ name: 'n', namespace: 'ns' });
    expect(secretTemplates(PROVISIONER_SECRET, {})).toBeUndefined();
    expect(() => secretTemplates(PROVISIONER_SECRET, { csiProvisionerSecretName: 'n', 'csi.storage.k8s.io/provisioner-secret-name': 'm', csiProvisionerSecretNamespace: 'ns' })).toThrow(
      'Provisioner secrets specified in parameters with both "csi" and "csi.storage.k8s.io/" keys',
    );
    expect(() => secretTemplates(PROVISIONER_SECRET, { 'csi.storage.k8s.io/provisioner-secret-name': 'n' })).toThrow(
      'either name and namespace for Provisioner secrets specified, Both must be specified',
    );
    expect(() => secretTemplates(PROVISIONER_SECRET, { 'csi.storage.k8s.io/provisioner-secret-name': '', 'csi.storage.k8s.io/provisioner-secret-namespace': 'x' })).toThrow(
      'value of either namespace or name is empty',
    );
  });
});

describe('secretReference', () => {
  it('expands the templates a name and a namespace may use', () => {
    const params = {
      'csi.storage.k8s.io/node-publish-secret-name': "${pvc.annotations['example.com/secret']}",
      'csi.storage.k8s.io/node-publish-secret-namespace': '${pvc.namespace}',
    };
    expect(secretReference(NODE_PUBLISH_SECRET, params, ctx)).toEqual({ name: 'sec-from-ann', namespace: 'team-a' });
    expect(
      secretReference(PROVISIONER_SECRET, { 'csi.storage.k8s.io/provisioner-secret-name': '${pv.name}-${pvc.name}', 'csi.storage.k8s.io/provisioner-secret-namespace': 'kube-system' }, ctx),
    ).toEqual({ name: 'pvc-123-data-0', namespace: 'kube-system' });
  });

  it('falls back to the default secret keys', () => {
    const params = { 'csi.storage.k8s.io/secret-name': 's', 'csi.storage.k8s.io/secret-namespace': 'ns' };
    expect(secretReference(CONTROLLER_EXPAND_SECRET, params, ctx)).toEqual({ name: 's', namespace: 'ns' });
    expect(secretReference(CONTROLLER_EXPAND_SECRET, {}, ctx)).toBeUndefined();
  });

  it('refuses tokens the namespace may not use and results that are not valid names', () => {
    expect(() =>
      secretReference(PROVISIONER_SECRET, { 'csi.storage.k8s.io/provisioner-secret-name': 's', 'csi.storage.k8s.io/provisioner-secret-namespace': '${pvc.name}' }, ctx),
    ).toThrow('error resolving value "${pvc.name}": invalid tokens: ["pvc.name"]');
    expect(() =>
      secretReference(PROVISIONER_SECRET, { 'csi.storage.k8s.io/provisioner-secret-name': 'Bad_Name', 'csi.storage.k8s.io/provisioner-secret-namespace': 'ns' }, ctx),
    ).toThrow('"Bad_Name" is not a valid secret name');
    expect(() =>
      secretReference(
        PROVISIONER_SECRET,
        { 'csi.storage.k8s.io/provisioner-secret-name': 's', 'csi.storage.k8s.io/provisioner-secret-namespace': '${pv.name}.x' },
        ctx,
      ),
    ).toThrow('"${pv.name}.x" resolved to "pvc-123.x" which is not a valid namespace name');
  });

  it('cuts a huge value in the message so the reason survives the event message limit', () => {
    const huge = { ...ctx, claim: { ...claim, annotations: { team: `Blue_${'x'.repeat(100_000)}` } } };
    let message = '';
    try {
      secretReference(PROVISIONER_SECRET, { 'csi.storage.k8s.io/provisioner-secret-name': "${pvc.annotations['team']}", 'csi.storage.k8s.io/provisioner-secret-namespace': 'ns' }, huge);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(`"\${pvc.annotations['team']}" resolved to "Blue_${'x'.repeat(59)}"... (100005 characters) which is not a valid secret name`);
  });
});
