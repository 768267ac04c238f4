import { describe, expect, it } from '@jest/globals';
import { ResizeStatus } from '../constants.js';
import { q } from '../testing/fakes.js';
import type { ResizeTargetInput } from './resize-target.js';
import { chooseResizeTarget } from './resize-target.js';

function input(over: Partial<Omit<ResizeTargetInput, 'spec' | 'pv' | 'allocated'>> & { spec: string; pv: string; allocated?: string }): ResizeTargetInput {
  return {
    status: '',
    lastAttemptFinal: false,
    controllerExpansion: true,
    fsResizePending: false,
    inSlowSet: false,
    ...over,
    spec: q(over.spec),
    pv: q(over.pv),
    allocated: over.allocated === undefined ? undefined : q(over.allocated),
  };
}

type Expect = { kind: 'none' } | { kind: 'delay' } | { kind: 'expand'; target: string; statusUnchanged: boolean };

function summary(i: ResizeTargetInput): Expect {
  const d = chooseResizeTarget(i);
  if (d.kind === 'expand') return { kind: 'expand', target: d.target.toString(), statusUnchanged: d.statusUnchanged };
  return { kind: d.kind };
}

describe('chooseResizeTarget (RecoverVolumeExpansionFailure)', () => {
  const cases: [string, Parameters<typeof input>[0], Expect][] = [
    // PV smaller than the request
    ['first expansion: no status, no allocation → spec', { spec: '2Gi', pv: '1Gi' }, { kind: 'expand', target: '2Gi', statusUnchanged: false }],
    ['first expansion with allocation already at spec (kcm set it)', { spec: '2Gi', pv: '1Gi', allocated: '2Gi' }, { kind: 'expand', target: '2Gi', statusUnchanged: true }],
    [
      'node expansion in progress, PV already at the allocated size → kubelet finishes',
      { spec: '3Gi', pv: '2Gi', allocated: '2Gi', status: ResizeStatus.NodeResizeInProgress },
      { kind: 'none' },
    ],
    [
      'node expansion pending but PV below allocation → finish the allocated size',
      { spec: '3Gi', pv: '1Gi', allocated: '2Gi', status: ResizeStatus.NodeResizePending },
      { kind: 'expand', target: '2Gi', statusUnchanged: true },
    ],
    [
      'node expansion infeasible → back to the allocated size',
      { spec: '3Gi', pv: '1Gi', allocated: '2Gi', status: ResizeStatus.NodeResizeInfeasible },
      { kind: 'expand', target: '2Gi', statusUnchanged: true },
    ],
    [
      'node expansion infeasible without allocation → spec',
      { spec: '3Gi', pv: '1Gi', status: ResizeStatus.NodeResizeInfeasible },
      { kind: 'expand', target: '3Gi', statusUnchanged: false },
    ],
    [
      'controller infeasible, user lowered the request → new spec',
      { spec: '3Gi', pv: '1Gi', allocated: '100Gi', status: ResizeStatus.ControllerResizeInfeasible },
      { kind: 'expand', target: '3Gi', statusUnchanged: false },
    ],
    [
      'controller infeasible, request unchanged, in the slow set → delay',
      { spec: '100Gi', pv: '1Gi', allocated: '100Gi', status: ResizeStatus.ControllerResizeInfeasible, inSlowSet: true },
      { kind: 'delay' },
    ],
    [
      'controller infeasible, request unchanged, first look → retry with unchanged status',
      { spec: '100Gi', pv: '1Gi', allocated: '100Gi', status: ResizeStatus.ControllerResizeInfeasible },
      { kind: 'expand', target: '100Gi', statusUnchanged: true },
    ],
    [
      'controller in progress after a non-final error: keep the uncertain size although the user shrank',
      { spec: '3Gi', pv: '1Gi', allocated: '5Gi', status: ResizeStatus.ControllerResizeInProgress },
      { kind: 'expand', target: '5Gi', statusUnchanged: true },
    ],
    [
      'controller in progress after a final error: the lowered request is used',
      { spec: '3Gi', pv: '1Gi', allocated: '5Gi', status: ResizeStatus.ControllerResizeInProgress, lastAttemptFinal: true },
      { kind: 'expand', target: '3Gi', statusUnchanged: false },
    ],
    [
      'controller in progress after a final error, request unchanged',
      { spec: '5Gi', pv: '1Gi', allocated: '5Gi', status: ResizeStatus.ControllerResizeInProgress, lastAttemptFinal: true },
      { kind: 'expand', target: '5Gi', statusUnchanged: true },
    ],
    // PV already at least as big as the request
    ['PV ≥ spec, node pending → nothing', { spec: '2Gi', pv: '2Gi', allocated: '2Gi', status: ResizeStatus.NodeResizePending }, { kind: 'none' }],
    ['PV ≥ spec, node in progress → nothing', { spec: '2Gi', pv: '3Gi', allocated: '3Gi', status: ResizeStatus.NodeResizeInProgress }, { kind: 'none' }],
    [
      'PV ≥ spec, node infeasible, controller driver → allocated',
      { spec: '2Gi', pv: '2Gi', allocated: '2Gi', status: ResizeStatus.NodeResizeInfeasible },
      { kind: 'expand', target: '2Gi', statusUnchanged: true },
    ],
    [
      'PV ≥ spec, node infeasible, node-only driver → spec',
      { spec: '2Gi', pv: '2Gi', allocated: '4Gi', status: ResizeStatus.NodeResizeInfeasible, controllerExpansion: false },
      { kind: 'expand', target: '2Gi', statusUnchanged: false },
    ],
    [
      'PV ≥ spec, controller in progress → finish bookkeeping at allocated',
      { spec: '2Gi', pv: '2Gi', allocated: '2Gi', status: ResizeStatus.ControllerResizeInProgress },
      { kind: 'expand', target: '2Gi', statusUnchanged: true },
    ],
    [
      'PV ≥ spec, controller infeasible (user shrank below the PV) → allocated',
      { spec: '2Gi', pv: '2Gi', allocated: '9Gi', status: ResizeStatus.ControllerResizeInfeasible },
      { kind: 'expand', target: '9Gi', statusUnchanged: true },
    ],
    ['PV ≥ spec, no status, allocation set → allocated', { spec: '2Gi', pv: '2Gi', allocated: '2Gi' }, { kind: 'expand', target: '2Gi', statusUnchanged: true }],
    ['PV ≥ spec, old apiserver, FileSystemResizePending → nothing', { spec: '2Gi', pv: '2Gi', fsResizePending: true }, { kind: 'none' }],
    ['PV ≥ spec, old apiserver, no pending condition → spec', { spec: '2Gi', pv: '2Gi' }, { kind: 'expand', target: '2Gi', statusUnchanged: false }],
  ];

  it.each(cases)('%s', (_name, over, expected) => {
    expect(summary(input(over))).toEqual(expected);
  });

  it('compares sizes exactly across units (1Gi = 1024Mi is not re-marked)', () => {
    expect(summary(input({ spec: '1Gi', pv: '512Mi', allocated: '1024Mi' }))).toEqual({ kind: 'expand', target: '1Gi', statusUnchanged: true });
  });
});
