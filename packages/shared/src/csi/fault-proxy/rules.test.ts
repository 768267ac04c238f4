import { describe, expect, it } from '@jest/globals';
import { GrpcCode } from '../errors.js';
import { ActiveRule, FaultRuleError, describeAction, parseFaultRule, pickRule, requestKeys } from './rules.js';

const call = (method: string, ...keys: string[]) => ({ method, path: `/csi.v1.Controller/${method}`, keys });

describe('parseFaultRule', () => {
  it('accepts every action and normalises code names to numbers', () => {
    expect(parseFaultRule({ action: { type: 'error', code: 'Unavailable' } })).toEqual({ action: { type: 'error', code: GrpcCode.Unavailable } });
    expect(parseFaultRule({ methods: ['CreateVolume'], volume: '^pvc-', after: 1, times: 2, id: 'x', action: { type: 'forwardThenError' } })).toEqual({
      id: 'x',
      methods: ['CreateVolume'],
      volume: '^pvc-',
      after: 1,
      times: 2,
      action: { type: 'forwardThenError', code: GrpcCode.DeadlineExceeded },
    });
    for (const type of ['forwardThenHang', 'forwardThenDrop', 'hang', 'drop']) expect(parseFaultRule({ action: { type } }).action).toEqual({ type });
    expect(parseFaultRule({ action: { type: 'delay', ms: 5 } }).action).toEqual({ type: 'delay', ms: 5 });
  });

  it.each([
    [null, 'rule must be an object'],
    [{}, 'rule.action must be an object with a "type"'],
    [{ action: { type: 'explode' } }, 'rule.action.type must be one of delay, error, forwardThenError, forwardThenHang, forwardThenDrop, hang, drop; got "explode"'],
    [{ action: { type: 'error' } }, 'rule.action.code is required for an error'],
    [{ action: { type: 'error', code: 'Nope' } }, 'rule.action.code: unknown gRPC code "Nope"'],
    [{ action: { type: 'error', code: 0 } }, 'rule.action.code: 0 is not a gRPC error code (1..16)'],
    [{ action: { type: 'delay' } }, 'rule.action.ms is required for a delay'],
    [{ action: { type: 'delay', ms: -1 } }, 'rule.action.ms must be a non-negative integer, got -1'],
    [{ volume: '(', action: { type: 'hang' } }, 'rule.volume is not a valid regular expression'],
    [{ methods: 'CreateVolume', action: { type: 'hang' } }, 'rule.methods must be a list of method names'],
    [{ method: ['CreateVolume'], action: { type: 'hang' } }, 'rule.method is not a rule field'],
    [{ times: 1.5, action: { type: 'hang' } }, 'rule.times must be a non-negative integer, got 1.5'],
  ])('refuses %j: %s', (input, message) => {
    expect(() => parseFaultRule(input)).toThrow(FaultRuleError);
    expect(() => parseFaultRule(input)).toThrow(message);
  });
});

describe('rule matching', () => {
  it('matches by method name or path and by volume key', () => {
    const r = new ActiveRule(parseFaultRule({ methods: ['CreateVolume', '/csi.v1.Controller/DeleteVolume'], volume: '^pvc-a', action: { type: 'hang' } }), 'r');
    expect(r.matches(call('CreateVolume', 'pvc-a1'))).toBe(true);
    expect(r.matches(call('DeleteVolume', 'x', 'pvc-a2'))).toBe(true);
    expect(r.matches(call('CreateVolume', 'pvc-b1'))).toBe(false);
    expect(r.matches(call('ControllerPublishVolume', 'pvc-a1'))).toBe(false);
    expect(r.matches(call('CreateVolume'))).toBe(false);
    expect(new ActiveRule({ action: { type: 'hang' } }, 'all').matches(call('Probe'))).toBe(true);
  });

  it('lets `after` calls through, applies `times` times, then falls through to later rules', () => {
    const first = new ActiveRule(parseFaultRule({ after: 1, times: 2, action: { type: 'error', code: 'Aborted' } }), 'first');
    const second = new ActiveRule(parseFaultRule({ action: { type: 'delay', ms: 1 } }), 'second');
    const picks = Array.from({ length: 5 }, () => pickRule([first, second], call('CreateVolume', 'v'))?.rule.id);
    expect(picks).toEqual(['second', 'first', 'first', 'second', 'second']);
    expect(first.toJSON()).toMatchObject({ matched: 3, applied: 2 });
    expect(first.spent).toBe(true);
  });

  it('finds volume names and ids in requests', () => {
    expect(requestKeys({ name: 'pvc-1', parameters: {} })).toEqual(['pvc-1']);
    expect(requestKeys({ volume_id: 'v1', node_id: 'n' })).toEqual(['v1']);
    expect(requestKeys({ source_volume_id: 'v2', name: 'snap' })).toEqual(['snap', 'v2']);
    expect(requestKeys({ name: '' })).toEqual([]);
    expect(requestKeys(undefined)).toEqual([]);
  });

  it('describes actions for the call records', () => {
    expect(describeAction({ type: 'forwardThenError' })).toBe('forward then DeadlineExceeded');
    expect(describeAction({ type: 'error', code: 'NotFound' })).toBe('error NotFound');
    expect(describeAction({ type: 'delay', ms: 20 })).toBe('delay 20ms');
  });
});
