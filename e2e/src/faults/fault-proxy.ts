// The project's CSI fault proxy (packages/shared/src/csi/fault-proxy, the `csi-fault-proxy`
// binary) run as its own process between a sidecar and the control plane's CSI plugin, and
// steered from a spec through its control API. A process of its own, like a real chaos tool:
// killing the sidecar leaves it running, restarting it drops every connection.
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { ClusterInfo } from '../harness/control-plane.js';
import { ManagedProcess } from '../harness/managed-process.js';
import { repoRoot } from '../harness/paths.js';
import { waitFor } from '../harness/wait.js';

export const FAULT_PROXY_BIN = join(repoRoot, 'packages', 'shared', 'dist', 'csi', 'fault-proxy', 'csi-fault-proxy.js');

/** A rule as the control API takes it (see packages/shared/src/csi/fault-proxy/rules.ts). */
export interface FaultRuleSpec {
  id?: string;
  methods?: string[];
  /** Regular expression on the request's volume name / ids. */
  volume?: string;
  after?: number;
  times?: number;
  action:
    | { type: 'delay'; ms: number }
    | { type: 'error'; code: string; message?: string }
    | { type: 'forwardThenError'; code?: string; message?: string; delayMs?: number }
    | { type: 'forwardThenHang' }
    | { type: 'forwardThenDrop' }
    | { type: 'hang' }
    | { type: 'drop' };
}

/** One call through the proxy, as its control API reports it. */
export interface ProxyCall {
  seq: number;
  method: string;
  keys: string[];
  rule?: string;
  action?: string;
  outcome?: string;
  backend?: string;
  volumeId?: string;
  startedAt: number;
  durationMs?: number;
}

export class FaultProxyProcess {
  readonly socket: string;
  readonly controlSocket: string;
  readonly #proc: ManagedProcess;

  private constructor(socket: string, controlSocket: string, proc: ManagedProcess) {
    this.socket = socket;
    this.controlSocket = controlSocket;
    this.#proc = proc;
  }

  /** Starts a proxy in front of the cluster's CSI plugin; `name` must be short (socket paths). */
  static async start(info: ClusterInfo, name: string): Promise<FaultProxyProcess> {
    if (!existsSync(FAULT_PROXY_BIN)) throw new Error(`${FAULT_PROXY_BIN} is missing: run \`npm run build\` first`);
    const dir = join(info.workDir, 'chaos');
    mkdirSync(dir, { recursive: true });
    const socket = join(dir, `${name}.sock`);
    const controlSocket = join(dir, `${name}.ctl`);
    if (socket.length > 100) throw new Error(`socket path too long for a unix socket: ${socket}`);
    const proc = new ManagedProcess({
      name: `csi-fault-proxy-${name}`,
      command: process.execPath,
      args: [FAULT_PROXY_BIN, `--listen=${socket}`, `--target=${info.csiEndpoint}`, `--control=${controlSocket}`, '--v=2'],
      logFile: join(info.workDir, 'logs', `csi-fault-proxy-${name}.log`),
    });
    const p = new FaultProxyProcess(socket, controlSocket, proc);
    await waitFor(`fault proxy ${name} control API`, async () => {
      if (!proc.running) throw new Error(`csi-fault-proxy exited:\n${proc.tail(20)}`);
      return existsSync(controlSocket) && (await p.#request('GET', '/healthz')) === 'ok';
    }, { timeoutMs: 15_000, intervalMs: 50 });
    return p;
  }

  /** `unix://` address for the sidecar's --csi-address. */
  get address(): string {
    return `unix://${this.socket}`;
  }

  async addRule(rule: FaultRuleSpec): Promise<string> {
    const res = (await this.#request('POST', '/rules', rule)) as { ids: string[] };
    return res.ids[0]!;
  }

  async removeRule(id: string): Promise<void> {
    await this.#request('DELETE', `/rules/${encodeURIComponent(id)}`);
  }

  async clearRules(): Promise<void> {
    await this.#request('DELETE', '/rules');
  }

  async calls(method?: string): Promise<ProxyCall[]> {
    return (await this.#request('GET', method ? `/calls?method=${encodeURIComponent(method)}` : '/calls')) as ProxyCall[];
  }

  /** Waits for a call of `method` matching `where` (finished or held) and returns it. */
  async waitForCall(method: string, where: (c: ProxyCall) => boolean, timeoutMs = 30_000): Promise<ProxyCall> {
    return waitFor(`a ${method} call through the fault proxy`, async () => (await this.calls(method)).find(where), { timeoutMs, intervalMs: 50 });
  }

  /** Closes every connection now and serves again at once. */
  async drop(): Promise<void> {
    await this.#request('POST', '/drop');
  }

  /** Goes away (socket removed, connections closed) for `downMs`, then serves again. */
  async restart(downMs: number): Promise<void> {
    await this.#request('POST', `/restart?downMs=${downMs}`);
  }

  async close(): Promise<void> {
    await this.#proc.stop(2000);
  }

  #request(method: string, path: string, body?: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.controlSocket, method, path, headers: { 'content-type': 'application/json' }, timeout: 30_000 }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            return reject(new Error(`fault proxy ${method} ${path}: not JSON: ${text.slice(0, 200)}`));
          }
          if ((res.statusCode ?? 500) >= 300) return reject(new Error(`fault proxy ${method} ${path}: ${res.statusCode} ${(parsed as { error?: string }).error ?? text}`));
          resolve(parsed);
        });
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`fault proxy ${method} ${path}: timed out`)));
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }
}
