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
  // One row per branch of the rules (§3.3 rules 8–10 of the reference notes), named after them.
  // P = PV capacity, S = request (spec), A = allocatedResources, st = allocatedResourceStatuses.
  const cases: [string, Parameters<typeof input>[0], Expect][] = [
    // ---- rule 8: P < S ----
    ['8 st=∅, no A (first expansion) → S', { spec: '2Gi', pv: '1Gi' }, { kind: 'expand', target: '2Gi', statusUnchanged: false }],
    ['8 st=∅, A = S (kcm or an earlier pass set it) → S, status kept', { spec: '2Gi', pv: '1Gi', allocated: '2Gi' }, { kind: 'expand', target: '2Gi', statusUnchanged: true }],
    ['8 st=∅, A ≠ S → S, status rewritten', { spec: '3Gi', pv: '1Gi', allocated: '5Gi' }, { kind: 'expand', target: '3Gi', statusUnchanged: false }],
    [
      '8 st=∅, node-only driver → S (same rules, kubelet expands)',
      { spec: '2Gi', pv: '1Gi', controllerExpansion: false },
      { kind: 'expand', target: '2Gi', statusUnchanged: false },
    ],
    [
      '8 NodeResizeInfeasible with A → A',
      { spec: '3Gi', pv: '1Gi', allocated: '2Gi', status: ResizeStatus.NodeResizeInfeasible },
      { kind: 'expand', target: '2Gi', statusUnchanged: true },
    ],
    [
      '8 NodeResizeInfeasible without A → S',
      { spec: '3Gi', pv: '1Gi', status: ResizeStatus.NodeResizeInfeasible },
      { kind: 'expand', target: '3Gi', statusUnchanged: false },
    ],
    [
      '8 NodeResizePending, P ≥ A → nothing (kubelet finishes; a bigger S is not used)',
      { spec: '3Gi', pv: '2Gi', allocated: '2Gi', status: ResizeStatus.NodeResizePending },
      { kind: 'none' },
    ],
    [
      '8 NodeResizeInProgress, P ≥ A → nothing',
      { spec: '3Gi', pv: '2Gi', allocated: '2Gi', status: ResizeStatus.NodeResizeInProgress },
      { kind: 'none' },
    ],
    [
      '8 NodeResizePending, P < A → finish A',
      { spec: '3Gi', pv: '1Gi', allocated: '2Gi', status: ResizeStatus.NodeResizePending },
      { kind: 'expand', target: '2Gi', statusUnchanged: true },
    ],
    [
      '8 NodeResizeInProgress, P < A → finish A',
      { spec: '3Gi', pv: '1Gi', allocated: '2Gi', status: ResizeStatus.NodeResizeInProgress },
      { kind: 'expand', target: '2Gi', statusUnchanged: true },
    ],
    [
      '8 NodeResizePending without A → S',
      { spec: '3Gi', pv: '1Gi', status: ResizeStatus.NodeResizePending },
      { kind: 'expand', target: '3Gi', statusUnchanged: false },
    ],
    [
      '8 ControllerResizeInProgress after a non-final error: keep the uncertain A although S shrank',
      { spec: '3Gi', pv: '1Gi', allocated: '5Gi', status: ResizeStatus.ControllerResizeInProgress },
      { kind: 'expand', target: '5Gi', statusUnchanged: true },
    ],
    [
      '8 ControllerResizeInProgress after a non-final error: keep A although S grew',
      { spec: '9Gi', pv: '1Gi', allocated: '5Gi', status: ResizeStatus.ControllerResizeInProgress },
      { kind: 'expand', target: '5Gi', statusUnchanged: true },
    ],
    [
      '8 ControllerResizeInProgress after a final error: the lowered S is used',
      { spec: '3Gi', pv: '1Gi', allocated: '5Gi', status: ResizeStatus.ControllerResizeInProgress, lastAttemptFinal: true },
      { kind: 'expand', target: '3Gi', statusUnchanged: false },
    ],
    [
      '8 ControllerResizeInProgress after a final error, S = A',
      { spec: '5Gi', pv: '1Gi', allocated: '5Gi', status: ResizeStatus.ControllerResizeInProgress, lastAttemptFinal: true },
      { kind: 'expand', target: '5Gi', statusUnchanged: true },
    ],
    [
      '8 ControllerResizeInProgress without A → S',
      { spec: '3Gi', pv: '1Gi', status: ResizeStatus.ControllerResizeInProgress },
      { kind: 'expand', target: '3Gi', statusUnchanged: false },
    ],
    [
      '8 ControllerResizeInfeasible, user lowered S → S',
      { spec: '3Gi', pv: '1Gi', allocated: '100Gi', status: ResizeStatus.ControllerResizeInfeasible },
      { kind: 'expand', target: '3Gi', statusUnchanged: false },
    ],
    [
      '8 ControllerResizeInfeasible, user raised S → S',
      { spec: '200Gi', pv: '1Gi', allocated: '100Gi', status: ResizeStatus.ControllerResizeInfeasible },
      { kind: 'expand', target: '200Gi', statusUnchanged: false },
    ],
    [
      '8 ControllerResizeInfeasible, S unchanged, first look → retry, status kept',
      { spec: '100Gi', pv: '1Gi', allocated: '100Gi', status: ResizeStatus.ControllerResizeInfeasible },
      { kind: 'expand', target: '100Gi', statusUnchanged: true },
    ],
    // ---- rule 9: P ≥ S ----
    ['9 NodeResizePending → nothing', { spec: '2Gi', pv: '2Gi', allocated: '2Gi', status: ResizeStatus.NodeResizePending }, { kind: 'none' }],
    ['9 NodeResizeInProgress → nothing', { spec: '2Gi', pv: '3Gi', allocated: '3Gi', status: ResizeStatus.NodeResizeInProgress }, { kind: 'none' }],
    [
      '9 NodeResizeInfeasible, controller driver → A',
      { spec: '2Gi', pv: '2Gi', allocated: '2Gi', status: ResizeStatus.NodeResizeInfeasible },
      { kind: 'expand', target: '2Gi', statusUnchanged: true },
    ],
    [
      '9 NodeResizeInfeasible, controller driver without A → S',
      { spec: '2Gi', pv: '2Gi', status: ResizeStatus.NodeResizeInfeasible },
      { kind: 'expand', target: '2Gi', statusUnchanged: false },
    ],
    [
      '9 NodeResizeInfeasible, node-only driver → S',
      { spec: '2Gi', pv: '2Gi', allocated: '4Gi', status: ResizeStatus.NodeResizeInfeasible, controllerExpansion: false },
      { kind: 'expand', target: '2Gi', statusUnchanged: false },
    ],
    [
      '9 ControllerResizeInProgress → A (finish the bookkeeping)',
      { spec: '2Gi', pv: '2Gi', allocated: '2Gi', status: ResizeStatus.ControllerResizeInProgress },
      { kind: 'expand', target: '2Gi', statusUnchanged: true },
    ],
    [
      '9 ControllerResizeInProgress without A → S',
      { spec: '2Gi', pv: '2Gi', status: ResizeStatus.ControllerResizeInProgress },
      { kind: 'expand', target: '2Gi', statusUnchanged: false },
    ],
    [
      '9 ControllerResizeInfeasible (user shrank below P) → A',
      { spec: '2Gi', pv: '2Gi', allocated: '9Gi', status: ResizeStatus.ControllerResizeInfeasible },
      { kind: 'expand', target: '9Gi', statusUnchanged: true },
    ],
    [
      '9 ControllerResizeInfeasible without A → S',
      { spec: '2Gi', pv: '2Gi', status: ResizeStatus.ControllerResizeInfeasible },
      { kind: 'expand', target: '2Gi', statusUnchanged: false },
    ],
    ['9 st=∅ with A → A', { spec: '2Gi', pv: '2Gi', allocated: '2Gi' }, { kind: 'expand', target: '2Gi', statusUnchanged: true }],
    ['9 st=∅, no A (old apiserver), FileSystemResizePending → nothing', { spec: '2Gi', pv: '2Gi', fsResizePending: true }, { kind: 'none' }],
    ['9 st=∅, no A (old apiserver), no pending condition → S', { spec: '2Gi', pv: '2Gi' }, { kind: 'expand', target: '2Gi', statusUnchanged: false }],
    // ---- rule 10: the slow set only delays an unchanged infeasible target ----
    [
      '10 in the slow set, target = A → delay',
      { spec: '100Gi', pv: '1Gi', allocated: '100Gi', status: ResizeStatus.ControllerResizeInfeasible, inSlowSet: true },
      { kind: 'delay' },
    ],
    [
      '10 in the slow set, P ≥ S, target = A → delay',
      { spec: '2Gi', pv: '2Gi', allocated: '9Gi', status: ResizeStatus.ControllerResizeInfeasible, inSlowSet: true },
      { kind: 'delay' },
    ],
    [
      '10 in the slow set, user lowered S (target ≠ A) → expand at once',
      { spec: '3Gi', pv: '1Gi', allocated: '100Gi', status: ResizeStatus.ControllerResizeInfeasible, inSlowSet: true },
      { kind: 'expand', target: '3Gi', statusUnchanged: false },
    ],
    [
      '10 in the slow set without A → expand (nothing to compare with)',
      { spec: '3Gi', pv: '1Gi', status: ResizeStatus.ControllerResizeInfeasible, inSlowSet: true },
      { kind: 'expand', target: '3Gi', statusUnchanged: false },
    ],
  ];

  it.each(cases)('%s', (_name, over, expected) => {
    expect(summary(input(over))).toEqual(expected);
  });

  it('compares sizes exactly across units (1Gi = 1024Mi is not re-marked)', () => {
    expect(summary(input({ spec: '1Gi', pv: '512Mi', allocated: '1024Mi' }))).toEqual({ kind: 'expand', target: '1Gi', statusUnchanged: true });
  });
});
