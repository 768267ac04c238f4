// Fault rules for the CSI fault proxy: which calls a rule applies to (method, volume name or id,
// how many calls to let through first, how many to affect) and what happens to them. Pure data
// and matching, so the rules can come from a spec, a JSON file or the control API alike.
import { GrpcCode, grpcCodeName } from '../errors.js';

export type FaultAction =
  /** Wait, then forward as usual. */
  | { type: 'delay'; ms: number }
  /** Answer with a gRPC status at once; the plugin never sees the call. */
  | { type: 'error'; code: number | string; message?: string }
  /**
   * Forward without the caller's deadline, let the plugin finish, then answer the caller with a
   * status instead of the plugin's answer (default DeadlineExceeded): the operation succeeded on
   * the backend, the caller believes it timed out. `delayMs` holds the answer back after that.
   */
  | { type: 'forwardThenError'; code?: number | string; message?: string; delayMs?: number }
  /** Forward (without the caller's deadline), then never answer: the caller's own deadline ends it. */
  | { type: 'forwardThenHang' }
  /** Forward, then close every connection of the proxy instead of answering. */
  | { type: 'forwardThenDrop' }
  /** Neither forward nor answer: the caller's deadline (or a dropped connection) ends the call. */
  | { type: 'hang' }
  /** Close every connection of the proxy at once (the caller sees the plugin go away). */
  | { type: 'drop' };

export type FaultActionType = FaultAction['type'];

export const FAULT_ACTION_TYPES: readonly FaultActionType[] = [
  'delay',
  'error',
  'forwardThenError',
  'forwardThenHang',
  'forwardThenDrop',
  'hang',
  'drop',
];

export interface FaultRule {
  /** Names the rule in call records and for removal; the proxy assigns one when missing. */
  id?: string;
  /** CSI method names (`CreateVolume`) or full paths (`/csi.v1.Controller/CreateVolume`); none: every method. */
  methods?: string[];
  /**
   * A regular expression (JavaScript syntax) matched against the request's volume name and
   * volume/snapshot ids (`name`, `volume_id`, `source_volume_id`, `snapshot_id`); none: any call.
   */
  volume?: string;
  /** Let this many matching calls through untouched before the rule applies. Default 0. */
  after?: number;
  /** Affect this many calls, then the rule is spent. Default: every matching call. */
  times?: number;
  action: FaultAction;
}

/** What the proxy knows about a call when it picks a rule. */
export interface CallFacts {
  /** Method name, e.g. `CreateVolume`. */
  method: string;
  /** Full path, e.g. `/csi.v1.Controller/CreateVolume`. */
  path: string;
  /** Volume names and ids found in the request. */
  keys: readonly string[];
}

export class FaultRuleError extends Error {
  override readonly name = 'FaultRuleError';
}

/** A gRPC code given by number or by Go name (`DeadlineExceeded`), as a number. */
export function grpcCodeOf(code: number | string, field: string): number {
  if (typeof code === 'number') {
    if (Number.isInteger(code) && code > 0 && code <= 16) return code;
    throw new FaultRuleError(`${field}: ${code} is not a gRPC error code (1..16)`);
  }
  const n = (GrpcCode as Record<string, number>)[code];
  if (n === undefined || n === 0) {
    const names = Object.keys(GrpcCode).filter((k) => k !== 'OK').join(', ');
    throw new FaultRuleError(`${field}: unknown gRPC code ${JSON.stringify(code)} (one of ${names})`);
  }
  return n;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function count(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new FaultRuleError(`${field} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function optionalString(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new FaultRuleError(`${field} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function parseAction(input: unknown, field: string): FaultAction {
  if (!isRecord(input)) throw new FaultRuleError(`${field} must be an object with a "type"`);
  const type = input.type;
  if (typeof type !== 'string' || !(FAULT_ACTION_TYPES as readonly string[]).includes(type)) {
    throw new FaultRuleError(`${field}.type must be one of ${FAULT_ACTION_TYPES.join(', ')}; got ${JSON.stringify(type)}`);
  }
  const message = optionalString(input.message, `${field}.message`);
  switch (type as FaultActionType) {
    case 'delay': {
      const ms = count(input.ms, `${field}.ms`);
      if (ms === undefined) throw new FaultRuleError(`${field}.ms is required for a delay`);
      return { type: 'delay', ms };
    }
    case 'error': {
      if (input.code === undefined) throw new FaultRuleError(`${field}.code is required for an error`);
      const code = grpcCodeOf(input.code as number | string, `${field}.code`);
      return { type: 'error', code, ...(message !== undefined ? { message } : {}) };
    }
    case 'forwardThenError': {
      const code = input.code === undefined ? GrpcCode.DeadlineExceeded : grpcCodeOf(input.code as number | string, `${field}.code`);
      const delayMs = count(input.delayMs, `${field}.delayMs`);
      return { type: 'forwardThenError', code, ...(message !== undefined ? { message } : {}), ...(delayMs !== undefined ? { delayMs } : {}) };
    }
    default:
      return { type } as FaultAction;
  }
}

/** Checks a rule that came as JSON; throws FaultRuleError naming the bad field. */
export function parseFaultRule(input: unknown, field = 'rule'): FaultRule {
  if (!isRecord(input)) throw new FaultRuleError(`${field} must be an object`);
  const known = new Set(['id', 'methods', 'volume', 'after', 'times', 'action']);
  for (const k of Object.keys(input)) if (!known.has(k)) throw new FaultRuleError(`${field}.${k} is not a rule field (${[...known].join(', ')})`);
  const rule: FaultRule = { action: parseAction(input.action, `${field}.action`) };
  const id = optionalString(input.id, `${field}.id`);
  if (id !== undefined) rule.id = id;
  if (input.methods !== undefined) {
    if (!Array.isArray(input.methods) || input.methods.some((m) => typeof m !== 'string' || m === '')) {
      throw new FaultRuleError(`${field}.methods must be a list of method names`);
    }
    rule.methods = [...(input.methods as string[])];
  }
  const volume = optionalString(input.volume, `${field}.volume`);
  if (volume !== undefined) {
    try {
      new RegExp(volume);
    } catch (err) {
      throw new FaultRuleError(`${field}.volume is not a valid regular expression: ${(err as Error).message}`);
    }
    rule.volume = volume;
  }
  const after = count(input.after, `${field}.after`);
  if (after !== undefined) rule.after = after;
  const times = count(input.times, `${field}.times`);
  if (times !== undefined) rule.times = times;
  return rule;
}

/** The volume names and ids a decoded CSI request carries (field names as in the proto). */
export function requestKeys(request: unknown): string[] {
  if (!isRecord(request)) return [];
  const keys: string[] = [];
  for (const f of ['name', 'volume_id', 'source_volume_id', 'snapshot_id']) {
    const v = request[f];
    if (typeof v === 'string' && v !== '') keys.push(v);
  }
  return keys;
}

/** A rule with its counters, as the proxy keeps it. */
export class ActiveRule {
  readonly rule: Readonly<FaultRule> & { id: string };
  /** Matching calls seen so far (including the ones let through by `after`). */
  matched = 0;
  /** Calls the action was applied to. */
  applied = 0;
  readonly #volume: RegExp | undefined;

  constructor(rule: FaultRule, id: string) {
    this.rule = { ...rule, id };
    this.#volume = rule.volume !== undefined ? new RegExp(rule.volume) : undefined;
  }

  get spent(): boolean {
    return this.rule.times !== undefined && this.applied >= this.rule.times;
  }

  matches(call: CallFacts): boolean {
    const methods = this.rule.methods;
    if (methods && methods.length > 0 && !methods.some((m) => m === call.method || m === call.path)) return false;
    if (this.#volume && !call.keys.some((k) => this.#volume!.test(k))) return false;
    return true;
  }

  /** Counts a matching call; true when the action applies to it. */
  take(): boolean {
    this.matched++;
    if (this.matched <= (this.rule.after ?? 0)) return false;
    if (this.spent) return false;
    this.applied++;
    return true;
  }

  toJSON(): { rule: FaultRule; matched: number; applied: number } {
    return { rule: this.rule, matched: this.matched, applied: this.applied };
  }
}

/** The first live rule that matches and applies to the call (its counters are updated). */
export function pickRule(rules: readonly ActiveRule[], call: CallFacts): ActiveRule | undefined {
  for (const r of rules) {
    if (r.spent || !r.matches(call)) continue;
    if (r.take()) return r;
  }
  return undefined;
}

/** A short human description of an action, for logs and call records. */
export function describeAction(action: FaultAction): string {
  switch (action.type) {
    case 'delay':
      return `delay ${action.ms}ms`;
    case 'error':
      return `error ${grpcCodeName(grpcCodeOf(action.code, 'code'))}`;
    case 'forwardThenError':
      return `forward then ${grpcCodeName(grpcCodeOf(action.code ?? GrpcCode.DeadlineExceeded, 'code'))}`;
    default:
      return action.type;
  }
}
