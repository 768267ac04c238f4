// Requests per client, counted from kube-apiserver's audit log. apiserver_request_total has no
// user-agent label, and the sidecars' own client metrics would measure each side with its own
// code; the audit log sees every request of both the same way, with its User-Agent.
import { closeSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AuditEntry {
  verb: string;
  userAgent: string;
  resource: string;
  subresource: string;
  code: number;
  /** stageTimestamp, epoch ms. */
  at: number;
  /** requestReceivedTimestamp, epoch ms (0 when absent). */
  receivedAt: number;
}

export const WRITE_VERBS: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** One policy for everything: metadata only, one event per finished request. */
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
  - level: Metadata
`;

/** Writes the policy into dir and returns the kube-apiserver flags that enable the log. */
export function auditFlags(dir: string): { flags: string[]; logPath: string } {
  const policy = join(dir, 'audit-policy.yaml');
  const logPath = join(dir, 'audit.log');
  writeFileSync(policy, AUDIT_POLICY);
  writeFileSync(logPath, '');
  return { flags: [`--audit-policy-file=${policy}`, `--audit-log-path=${logPath}`, '--audit-log-maxsize=0', '--audit-log-format=json'], logPath };
}

interface RawAuditEvent {
  stage?: string;
  verb?: string;
  userAgent?: string;
  objectRef?: { resource?: string; subresource?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
}

export function parseAuditLine(line: string): AuditEntry | undefined {
  if (!line.trim()) return undefined;
  let ev: RawAuditEvent;
  try {
    ev = JSON.parse(line) as RawAuditEvent;
  } catch {
    return undefined;
  }
  if (ev.stage !== 'ResponseComplete' && ev.stage !== 'Panic') return undefined;
  return {
    verb: ev.verb ?? '',
    userAgent: ev.userAgent ?? '',
    resource: ev.objectRef?.resource ?? '',
    subresource: ev.objectRef?.subresource ?? '',
    code: ev.responseStatus?.code ?? 0,
    at: ev.stageTimestamp ? Date.parse(ev.stageTimestamp) : 0,
    receivedAt: ev.requestReceivedTimestamp ? Date.parse(ev.requestReceivedTimestamp) : 0,
  };
}

/** One counted request, kept so a part of the run (the load) can be counted on its own. */
export interface TalliedCall {
  call: string;
  write: boolean;
  receivedAt: number;
  at: number;
}

export interface WindowCount {
  byCall: Record<string, number>;
  total: number;
  writes: number;
  /** Mean API-server time of the writes (received → complete), ms; undefined without writes. */
  writeServerMs: number | undefined;
}

/** Requests received within [fromMs, toMs] (epoch ms). */
export function countWindow(calls: readonly TalliedCall[], fromMs: number, toMs: number): WindowCount {
  const byCall: Record<string, number> = {};
  let total = 0;
  let writes = 0;
  let writeMs = 0;
  for (const c of calls) {
    const received = c.receivedAt || c.at;
    if (received < fromMs || received > toMs) continue;
    total++;
    byCall[c.call] = (byCall[c.call] ?? 0) + 1;
    if (c.write) {
      writes++;
      writeMs += Math.max(0, c.at - received);
    }
  }
  return { byCall, total, writes, writeServerMs: writes > 0 ? writeMs / writes : undefined };
}

export class RequestTally {
  total = 0;
  writes = 0;
  readonly byVerb: Record<string, number> = {};
  /** "verb resource[/subresource]" → count. */
  readonly byCall: Record<string, number> = {};
  readonly userAgents = new Set<string>();
  readonly calls: TalliedCall[] = [];
  /** Epoch ms of the latest counted request; 0 before any. */
  lastAt = 0;
  #active = true;

  constructor(readonly userAgentPrefix: string) {}

  add(e: AuditEntry): void {
    if (!this.#active || !e.userAgent.startsWith(this.userAgentPrefix)) return;
    this.total++;
    const write = WRITE_VERBS.has(e.verb);
    if (write) this.writes++;
    this.byVerb[e.verb] = (this.byVerb[e.verb] ?? 0) + 1;
    const call = `${e.verb} ${e.resource}${e.subresource ? `/${e.subresource}` : ''}`;
    this.byCall[call] = (this.byCall[call] ?? 0) + 1;
    this.calls.push({ call, write, receivedAt: e.receivedAt, at: e.at });
    this.userAgents.add(e.userAgent);
    if (e.at > this.lastAt) this.lastAt = e.at;
  }

  stop(): void {
    this.#active = false;
  }
}

/** Follows the audit log file, feeding every finished request to the active tallies. */
export class AuditTail {
  readonly #path: string;
  readonly #tallies = new Set<RequestTally>();
  #offset = 0;
  #partial = '';
  #timer: NodeJS.Timeout | undefined;
  /** Epoch ms of the latest write from a client not in the ignore list. */
  #lastForeignWriteAt = 0;

  constructor(
    path: string,
    readonly ignoreUserAgentPrefixes: readonly string[] = [],
  ) {
    this.#path = path;
  }

  start(intervalMs = 100): void {
    this.#offset = statSync(this.#path).size;
    this.#timer = setInterval(() => this.poll(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Counts requests of clients whose User-Agent starts with the prefix, from now on. */
  track(userAgentPrefix: string): RequestTally {
    this.poll();
    const t = new RequestTally(userAgentPrefix);
    this.#tallies.add(t);
    return t;
  }

  untrack(t: RequestTally): void {
    this.poll();
    t.stop();
    this.#tallies.delete(t);
  }

  /**
   * Epoch ms of the latest write by anyone but the ignored clients (the bench itself). Reads are
   * left out: kube-controller-manager's expand controller GETs a PV for every claim update, at
   * its own pace, which is no load worth waiting for.
   */
  get lastForeignWrite(): number {
    this.poll();
    return this.#lastForeignWriteAt;
  }

  /** Reads what the API server has written since the last poll. */
  poll(): void {
    let fd: number;
    try {
      fd = openSync(this.#path, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(1 << 20);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.#offset);
        if (n <= 0) break;
        this.#offset += n;
        const text = this.#partial + buf.subarray(0, n).toString('utf8');
        const lines = text.split('\n');
        this.#partial = lines.pop() ?? '';
        for (const line of lines) this.#consume(line);
      }
    } finally {
      closeSync(fd);
    }
  }

  #consume(line: string): void {
    const e = parseAuditLine(line);
    if (!e) return;
    if (WRITE_VERBS.has(e.verb) && e.at > this.#lastForeignWriteAt && !this.ignoreUserAgentPrefixes.some((p) => e.userAgent.startsWith(p))) this.#lastForeignWriteAt = e.at;
    for (const t of this.#tallies) t.add(e);
  }
}
