import { describe, expect, it } from '@jest/globals';
import { applyJsonPatch, applyMergePatch, createMergePatch, JsonPatchBuilder, JsonPatchError, jsonPointer } from './patch.js';

type Case = [name: string, oldObj: Record<string, unknown>, newObj: Record<string, unknown>, patch: Record<string, unknown>];

const cases: Case[] = [
  ['no change', { a: 1, b: { c: 'x' } }, { a: 1, b: { c: 'x' } }, {}],
  ['changed scalar', { a: 1, b: 2 }, { a: 3, b: 2 }, { a: 3 }],
  ['added field', { a: 1 }, { a: 1, b: 'new' }, { b: 'new' }],
  ['removed field → null', { a: 1, b: 2 }, { a: 1 }, { b: null }],
  ['field set to undefined counts as removed', { a: 1, b: 2 }, { a: 1, b: undefined }, { b: null }],
  ['nested change keeps only the changed leaf', { metadata: { name: 'n', labels: { x: '1', y: '2' } } }, { metadata: { name: 'n', labels: { x: '1', y: '3' } } }, { metadata: { labels: { y: '3' } } }],
  ['removed annotation', { metadata: { annotations: { a: '1', b: '2' } } }, { metadata: { annotations: { a: '1' } } }, { metadata: { annotations: { b: null } } }],
  ['arrays are replaced whole', { metadata: { finalizers: ['a', 'b'] } }, { metadata: { finalizers: ['a'] } }, { metadata: { finalizers: ['a'] } }],
  ['equal arrays produce nothing', { s: { l: [{ k: 1 }, { k: 2 }] } }, { s: { l: [{ k: 1 }, { k: 2 }] } }, {}],
  ['object replaced by scalar', { a: { b: 1 } }, { a: 'x' }, { a: 'x' }],
  ['scalar replaced by object', { a: 'x' }, { a: { b: 1 } }, { a: { b: 1 } }],
  ['new nested object', { spec: {} }, { spec: { claimRef: { name: 'c', namespace: 'ns' } } }, { spec: { claimRef: { name: 'c', namespace: 'ns' } } }],
  ['Date equal to its string form is no change', { t: '2024-01-02T03:04:05Z' }, { t: new Date('2024-01-02T03:04:05Z') }, {}],
  ['changed Date becomes a string', { t: new Date('2024-01-02T03:04:05Z') }, { t: new Date('2024-01-02T03:04:06Z') }, { t: '2024-01-02T03:04:06.000Z' }],
];

describe('createMergePatch', () => {
  it.each(cases)('%s', (_name, oldObj, newObj, want) => {
    const patch = createMergePatch(oldObj, newObj);
    expect(patch).toEqual(want);
    // Applying the patch to old gives new (as JSON).
    const applied = applyMergePatch(JSON.parse(JSON.stringify(oldObj)), patch);
    const normalise = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'string' && /^\d{4}-\d\d-\d\dT/.test(x) ? new Date(x).getTime() : x)));
    expect(normalise(applied)).toEqual(normalise(newObj));
  });

  it('adds the old resourceVersion as a precondition when asked', () => {
    const old = { metadata: { name: 'a', resourceVersion: '42' }, spec: { x: 1 } };
    const patch = createMergePatch(old, { metadata: { name: 'a', resourceVersion: '42' }, spec: { x: 2 } }, { withResourceVersion: true });
    expect(patch).toEqual({ metadata: { resourceVersion: '42' }, spec: { x: 2 } });
    expect(() => createMergePatch({}, {}, { withResourceVersion: true })).toThrow(/resourceVersion/);
  });

  it('does not modify its inputs', () => {
    const old = { a: { b: 1 } };
    const next = { a: { b: 2 } };
    createMergePatch(old, next);
    expect(old).toEqual({ a: { b: 1 } });
    expect(next).toEqual({ a: { b: 2 } });
  });
});

describe('JSON patch', () => {
  it('escapes pointer segments', () => {
    expect(jsonPointer('metadata', 'annotations', 'pv.kubernetes.io/bound-by~controller')).toBe('/metadata/annotations/pv.kubernetes.io~1bound-by~0controller');
  });

  it('builds and applies ops with a test precondition', () => {
    const doc = { metadata: { resourceVersion: '7', finalizers: ['a', 'b', 'c'] } };
    const ops = new JsonPatchBuilder()
      .test(['metadata', 'resourceVersion'], '7')
      .remove(['metadata', 'finalizers', 1])
      .add(['metadata', 'annotations'], { 'x/y': 'z' })
      .build();
    expect(ops).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '7' },
      { op: 'remove', path: '/metadata/finalizers/1' },
      { op: 'add', path: '/metadata/annotations', value: { 'x/y': 'z' } },
    ]);
    expect(applyJsonPatch(doc, ops)).toEqual({ metadata: { resourceVersion: '7', finalizers: ['a', 'c'], annotations: { 'x/y': 'z' } } });
    expect(doc.metadata.finalizers).toEqual(['a', 'b', 'c']);
  });

  it('fails the whole patch when a test op does not hold', () => {
    const ops = new JsonPatchBuilder().test('/metadata/resourceVersion', '6').replace('/spec/x', 2).build();
    let err: unknown;
    try {
      applyJsonPatch({ metadata: { resourceVersion: '7' }, spec: { x: 1 } }, ops);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JsonPatchError);
    expect((err as JsonPatchError).testFailed).toBe(true);
  });

  it('treats a missing member as null in a test op, as kube-apiserver does', () => {
    const ops = new JsonPatchBuilder().test('/metadata/finalizers', null).add('/metadata/finalizers', ['mine']).build();
    expect(applyJsonPatch({ metadata: {} }, ops)).toEqual({ metadata: { finalizers: ['mine'] } });
    expect(() => applyJsonPatch({ metadata: { finalizers: ['other'] } }, ops)).toThrow(JsonPatchError);
    expect(() => applyJsonPatch({ metadata: {} }, new JsonPatchBuilder().test('/metadata/finalizers', []).build())).toThrow(JsonPatchError);
  });

  it('rejects paths that do not exist for replace and remove', () => {
    expect(() => applyJsonPatch({ a: {} }, [{ op: 'replace', path: '/a/b', value: 1 }])).toThrow(JsonPatchError);
    expect(() => applyJsonPatch({ a: [1] }, [{ op: 'remove', path: '/a/3' }])).toThrow(JsonPatchError);
    expect(applyJsonPatch({ a: [1] }, [{ op: 'add', path: '/a/-', value: 2 }])).toEqual({ a: [1, 2] });
  });
});
