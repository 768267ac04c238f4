import { describe, expect, it } from '@jest/globals';
import { applyJsonPatch, applyMergePatch, JsonPatchError } from '@csi-sidecars-ts/shared';
import { FINALIZER, va } from '../__fixtures__/objects.js';
import {
  addFinalizerPatch,
  attachErrorPatch,
  attachedStatusPatch,
  detachErrorPatch,
  detachedStatusPatch,
  kubeTime,
  MAX_VOLUME_ERROR_MESSAGE_BYTES,
  removeFinalizerPatch,
  vaAttachMetadataPatch,
  volumeErrorMessage,
} from './patches.js';

const obj = (finalizers?: string[]) => ({ metadata: { name: 'pv', ...(finalizers ? { finalizers } : {}) } });

describe('addFinalizerPatch', () => {
  it('tests for an absent list and adds one (the shape Go sends)', () => {
    expect(addFinalizerPatch(undefined, FINALIZER)).toEqual([
      { op: 'test', path: '/metadata/finalizers', value: null },
      { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] },
    ]);
  });

  it('tests for an empty list and replaces it', () => {
    const ops = addFinalizerPatch([], FINALIZER);
    expect(ops).toEqual([
      { op: 'test', path: '/metadata/finalizers', value: [] },
      { op: 'replace', path: '/metadata/finalizers', value: [FINALIZER] },
    ]);
    expect(applyJsonPatch(obj([]), ops)).toEqual(obj([FINALIZER]));
  });

  it('appends after testing the list is still what we saw', () => {
    const ops = addFinalizerPatch(['a', 'b'], FINALIZER);
    expect(applyJsonPatch(obj(['a', 'b']), ops)).toEqual(obj(['a', 'b', FINALIZER]));
  });

  it('cannot resurrect a finalizer another controller removed meanwhile', () => {
    // Our cache still shows 'b'; the server already dropped it.
    const ops = addFinalizerPatch(['a', 'b'], FINALIZER);
    expect(() => applyJsonPatch(obj(['a']), ops)).toThrow(JsonPatchError);
  });

  it('cannot add our finalizer twice when the cache is behind', () => {
    const ops = addFinalizerPatch(['a'], FINALIZER);
    expect(() => applyJsonPatch(obj(['a', FINALIZER]), ops)).toThrow(JsonPatchError);
  });
});

describe('removeFinalizerPatch', () => {
  it('removes exactly our finalizer at its index', () => {
    const ops = removeFinalizerPatch(['a', FINALIZER, 'b'], FINALIZER)!;
    expect(ops).toEqual([
      { op: 'test', path: '/metadata/finalizers/1', value: FINALIZER },
      { op: 'remove', path: '/metadata/finalizers/1' },
    ]);
    expect(applyJsonPatch(obj(['a', FINALIZER, 'b']), ops)).toEqual(obj(['a', 'b']));
  });

  it('fails atomically when the list moved', () => {
    const ops = removeFinalizerPatch(['a', FINALIZER], FINALIZER)!;
    expect(() => applyJsonPatch(obj([FINALIZER]), ops)).toThrow(JsonPatchError);
  });

  it('is undefined when the finalizer is not there', () => {
    expect(removeFinalizerPatch(['a'], FINALIZER)).toBeUndefined();
    expect(removeFinalizerPatch(undefined, FINALIZER)).toBeUndefined();
  });
});

describe('vaAttachMetadataPatch', () => {
  it('adds the finalizer and the node-id annotation in one patch, conditional on the resourceVersion', () => {
    const v = va('va-1', { rv: '7', finalizers: ['other'], annotations: { keep: 'me' } });
    const patch = vaAttachMetadataPatch(v, FINALIZER, 'node-id-1');
    expect(patch).toEqual({
      metadata: { resourceVersion: '7', finalizers: ['other', FINALIZER], annotations: { 'csi.alpha.kubernetes.io/node-id': 'node-id-1' } },
    });
    const applied = applyMergePatch(v, patch) as typeof v;
    expect(applied.metadata?.annotations).toEqual({ keep: 'me', 'csi.alpha.kubernetes.io/node-id': 'node-id-1' });
  });

  it('overwrites a different node ID without touching the finalizers', () => {
    const v = va('va-1', { rv: '7', finalizers: [FINALIZER], annotations: { 'csi.alpha.kubernetes.io/node-id': 'old' } });
    expect(vaAttachMetadataPatch(v, FINALIZER, 'new')).toEqual({
      metadata: { resourceVersion: '7', annotations: { 'csi.alpha.kubernetes.io/node-id': 'new' } },
    });
  });

  it('is undefined when both are in place', () => {
    const v = va('va-1', { rv: '7', finalizers: [FINALIZER], annotations: { 'csi.alpha.kubernetes.io/node-id': 'n' } });
    expect(vaAttachMetadataPatch(v, FINALIZER, 'n')).toBeUndefined();
  });
});

describe('status patches', () => {
  it('marks attached with the publish context and clears the attach error', () => {
    expect(attachedStatusPatch({ devicePath: '/dev/x' })).toEqual({ status: { attached: true, attachmentMetadata: { devicePath: '/dev/x' }, attachError: null } });
    expect(attachedStatusPatch({})).toEqual({ status: { attached: true, attachmentMetadata: null, attachError: null } });
    const before = { status: { attached: false, attachmentMetadata: { old: '1' }, attachError: { message: 'x' } } };
    expect(applyMergePatch(before, attachedStatusPatch(undefined))).toEqual({ status: { attached: true } });
  });

  it('marks detached, dropping the metadata and the detach error', () => {
    const before = { status: { attached: true, attachmentMetadata: { a: 'b' }, detachError: { message: 'x' } } };
    expect(applyMergePatch(before, detachedStatusPatch())).toEqual({ status: { attached: false } });
  });

  it('records an attach error with its numeric gRPC code, and clears a stale code', () => {
    expect(attachErrorPatch('2024-01-01T00:00:00Z', 'rpc error: code = ResourceExhausted desc = full', 8)).toEqual({
      status: { attachError: { time: '2024-01-01T00:00:00Z', message: 'rpc error: code = ResourceExhausted desc = full', errorCode: 8 } },
    });
    const before = { status: { attached: false, attachError: { time: 't', message: 'old', errorCode: 8 } } };
    expect(applyMergePatch(before, attachErrorPatch('t2', 'not a grpc error', undefined))).toEqual({
      status: { attached: false, attachError: { time: 't2', message: 'not a grpc error' } },
    });
  });

  it('records a detach error without a code', () => {
    expect(detachErrorPatch('t', 'm')).toEqual({ status: { detachError: { time: 't', message: 'm' } } });
  });

  it('formats times like metav1.Time', () => {
    expect(kubeTime(Date.UTC(2024, 0, 2, 3, 4, 5, 678))).toBe('2024-01-02T03:04:05Z');
  });
});

// The same patches as tables: what each one does to what the server holds, including a server
// copy that changed since the cache saw it (the conditional patches must fail then).
describe('patch contents (tables)', () => {
  const F = FINALIZER;
  type Outcome = string[] | 'conflict';
  const apply = (ops: Parameters<typeof applyJsonPatch>[1], server: string[] | undefined): Outcome => {
    try {
      return (applyJsonPatch(obj(server), ops) as ReturnType<typeof obj>).metadata.finalizers ?? [];
    } catch (err) {
      if (err instanceof JsonPatchError) return 'conflict';
      throw err;
    }
  };

  it.each<[string, string[] | undefined, string[] | undefined, Outcome]>([
    // ('no list, unchanged' is left out: the real API server, like Go's json-patch, lets
    // `test null` pass on a missing path, while the shared applyJsonPatch fails it.)
    ['empty list, unchanged', [], [], [F]],
    ['other finalizers, unchanged', ['a', 'b'], ['a', 'b'], ['a', 'b', F]],
    ['no list seen, one added since', undefined, ['a'], 'conflict'],
    ['empty list seen, one added since', [], ['a'], 'conflict'],
    ['a finalizer removed since', ['a', 'b'], ['a'], 'conflict'],
    ['ours added since (stale cache)', ['a'], ['a', F], 'conflict'],
    ['replaced by another since', ['a'], ['b'], 'conflict'],
  ])('addFinalizerPatch: %s', (_name, seen, server, want) => {
    expect(apply(addFinalizerPatch(seen, F), server)).toEqual(want);
  });

  it.each<[string, string[], string[], Outcome]>([
    ['ours alone', [F], [F], []],
    ['ours in the middle', ['a', F, 'b'], ['a', F, 'b'], ['a', 'b']],
    ['one appended after ours since', [F, 'a'], [F, 'a', 'c'], ['a', 'c']],
    ['one removed before ours since', ['a', F], [F], 'conflict'],
    ['ours removed since', [F], [], 'conflict'],
    ['ours moved since', ['a', F], [F, 'a'], 'conflict'],
  ])('removeFinalizerPatch: %s', (_name, seen, server, want) => {
    expect(apply(removeFinalizerPatch(seen, F)!, server)).toEqual(want);
  });

  const NODE_ID_KEY = 'csi.alpha.kubernetes.io/node-id';
  it.each<[string, string[] | undefined, Record<string, string> | undefined, Record<string, unknown> | undefined]>([
    ['nothing yet', undefined, undefined, { metadata: { resourceVersion: '5', finalizers: [F], annotations: { [NODE_ID_KEY]: 'id-1' } } }],
    ['other finalizers and annotations kept', ['x'], { keep: 'y' }, { metadata: { resourceVersion: '5', finalizers: ['x', F], annotations: { [NODE_ID_KEY]: 'id-1' } } }],
    ['finalizer only missing', undefined, { [NODE_ID_KEY]: 'id-1' }, { metadata: { resourceVersion: '5', finalizers: [F] } }],
    ['annotation only missing', [F], undefined, { metadata: { resourceVersion: '5', annotations: { [NODE_ID_KEY]: 'id-1' } } }],
    ['annotation from another node ID', [F], { [NODE_ID_KEY]: 'old' }, { metadata: { resourceVersion: '5', annotations: { [NODE_ID_KEY]: 'id-1' } } }],
    ['both in place', [F], { [NODE_ID_KEY]: 'id-1' }, undefined],
  ])('vaAttachMetadataPatch: %s', (_name, finalizers, annotations, want) => {
    const v = va('va-1', { rv: '5', ...(finalizers ? { finalizers } : {}), ...(annotations ? { annotations } : {}) });
    expect(vaAttachMetadataPatch(v, F, 'id-1')).toEqual(want);
  });

  const err = { time: 't0', message: 'old' };
  it.each<[string, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>]>([
    ['attached: sets metadata, clears the attach error', attachedStatusPatch({ devicePath: '/dev/x' }), { attached: false, attachError: err }, { attached: true, attachmentMetadata: { devicePath: '/dev/x' } }],
    ['attached: an empty publish context drops old metadata', attachedStatusPatch({}), { attached: true, attachmentMetadata: { old: '1' } }, { attached: true }],
    ['attached: leaves a detach error alone', attachedStatusPatch(undefined), { attached: false, detachError: err }, { attached: true, detachError: err }],
    ['detached: drops metadata and the detach error, keeps the attach error', detachedStatusPatch(), { attached: true, attachmentMetadata: { a: 'b' }, detachError: err, attachError: err }, { attached: false, attachError: err }],
    ['attach error: attached and metadata untouched', attachErrorPatch('t1', 'm', 4), { attached: true, attachmentMetadata: { a: 'b' } }, { attached: true, attachmentMetadata: { a: 'b' }, attachError: { time: 't1', message: 'm', errorCode: 4 } }],
    ['attach error without a code replaces one with a code', attachErrorPatch('t1', 'm', undefined), { attached: false, attachError: { ...err, errorCode: 8 } }, { attached: false, attachError: { time: 't1', message: 'm' } }],
    ['detach error: attached untouched', detachErrorPatch('t1', 'm'), { attached: true }, { attached: true, detachError: { time: 't1', message: 'm' } }],
  ])('status %s', (_name, patch, before, after) => {
    expect(applyMergePatch({ status: before }, patch)).toEqual({ status: after });
  });
});

describe('volumeErrorMessage', () => {
  it('keeps a message the API server accepts as it is', () => {
    const m = 'x'.repeat(MAX_VOLUME_ERROR_MESSAGE_BYTES);
    expect(volumeErrorMessage(m)).toBe(m);
  });

  it('cuts a longer one (a driver echoing a huge volume ID) to the API limit, on a character boundary, saying so', () => {
    const long = `rpc error: code = NotFound desc = volume ${'名'.repeat(2000)} not found`;
    const cut = volumeErrorMessage(long);
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(MAX_VOLUME_ERROR_MESSAGE_BYTES);
    expect(cut.startsWith('rpc error: code = NotFound desc = volume 名')).toBe(true);
    expect(cut).toMatch(/名\.\.\. \(\d+ bytes, cut\)$/);
    expect(cut).not.toContain('\uFFFD');
    expect(attachErrorPatch('t', long, 5)).toEqual({ status: { attachError: { time: 't', message: cut, errorCode: 5 } } });
    expect(detachErrorPatch('t', long)).toEqual({ status: { detachError: { time: 't', message: cut } } });
  });
});
