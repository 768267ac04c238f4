// The csi-fault-proxy command: a fault-injecting proxy between a CSI sidecar and its plugin,
// steered through its control API. Example (a pod: the sidecar's --csi-address points at the
// proxy socket; the plugin keeps its own socket):
//
//   csi-fault-proxy --listen=/csi/proxy.sock --target=/csi/csi.sock --control=/csi/control.sock
//   curl --unix-socket /csi/control.sock -d '{"methods":["CreateVolume"],"times":1,
//        "action":{"type":"forwardThenError","code":"DeadlineExceeded"}}' http://x/rules
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger, type Logger } from '../../logging/logger.js';
import { parseControlEndpoint, startFaultProxyControl, type FaultProxyControlServer } from './control.js';
import { FaultProxy } from './proxy.js';
import { parseFaultRule, type FaultRule } from './rules.js';

export const FAULT_PROXY_USAGE = `Usage: csi-fault-proxy --listen=<socket> --target=<socket> [--control=<socket|127.0.0.1:port>] [--rules=<file.json>] [--v=<level>]

A CSI proxy that forwards every unary CSI call from --listen to the plugin at --target and
injects faults described by rules (delay, gRPC error, success on the backend hidden behind a
timeout, hang, dropped connections), per method and per volume name/id.

  --listen   socket the sidecar connects to (absolute path or unix:///path)
  --target   the plugin's socket (absolute path or unix:///path)
  --control  where the JSON control API listens (unix socket, or a loopback host:port)
  --rules    JSON file with a rule or a list of rules in force from the start
  --v        log verbosity (2: every fault applied)

Rule: {"id"?, "methods"?: ["CreateVolume"], "volume"?: "<regexp>", "after"?: N, "times"?: N,
       "action": {"type": "delay", "ms": N} | {"type": "error", "code": "Unavailable"}
                 | {"type": "forwardThenError", "code"?: "DeadlineExceeded", "delayMs"?: N}
                 | {"type": "forwardThenHang"} | {"type": "forwardThenDrop"}
                 | {"type": "hang"} | {"type": "drop"}}
Control API: GET/POST/DELETE /rules, DELETE /rules/<id>, GET/DELETE /calls[?method=M],
             POST /drop, POST /restart?downMs=N, POST /stop, POST /start, GET /healthz
`;

export interface FaultProxyCliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Resolves when the process is asked to stop (SIGTERM/SIGINT). */
  stopRequested: Promise<unknown>;
  logWrite?: (line: string) => void;
}

export interface RunningFaultProxy {
  proxy: FaultProxy;
  control: FaultProxyControlServer | undefined;
  close(): Promise<void>;
}

/** Parses the command line; returns an error text instead of throwing. */
export function parseFaultProxyArgs(argv: string[]): { listen: string; target: string; control?: string; rules: FaultRule[]; v: number; help: boolean } | { error: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string' },
        target: { type: 'string' },
        control: { type: 'string' },
        rules: { type: 'string' },
        v: { type: 'string', default: '0' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    return { error: (err as Error).message };
  }
  const o = parsed.values;
  if (o.help) return { listen: '', target: '', rules: [], v: 0, help: true };
  if (!o.listen) return { error: '--listen is required (the socket the sidecar connects to)' };
  if (!o.target) return { error: '--target is required (the plugin\'s socket)' };
  const v = Number(o.v);
  if (!Number.isInteger(v) || v < 0) return { error: `--v must be a non-negative integer, got ${JSON.stringify(o.v)}` };
  let rules: FaultRule[] = [];
  if (o.rules) {
    try {
      const body = JSON.parse(readFileSync(o.rules, 'utf8')) as unknown;
      const list = Array.isArray(body) ? body : [body];
      rules = list.map((r, i) => parseFaultRule(r, `${o.rules}: rules[${i}]`));
    } catch (err) {
      return { error: `--rules: ${(err as Error).message}` };
    }
  }
  if (o.control) {
    try {
      parseControlEndpoint(o.control);
    } catch (err) {
      return { error: `--control: ${(err as Error).message}` };
    }
  }
  return { listen: o.listen, target: o.target, ...(o.control ? { control: o.control } : {}), rules, v, help: false };
}

/** Starts the proxy and its control API as the command line says. */
export async function startFaultProxyFromArgs(args: { listen: string; target: string; control?: string; rules: FaultRule[] }, logger: Logger): Promise<RunningFaultProxy> {
  const proxy = await FaultProxy.start({ listen: args.listen, target: args.target, rules: args.rules, logger });
  let control: FaultProxyControlServer | undefined;
  try {
    if (args.control) control = await startFaultProxyControl(proxy, parseControlEndpoint(args.control));
  } catch (err) {
    await proxy.dispose();
    throw err;
  }
  if (control) logger.info('Control API listening', { address: control.address });
  return {
    proxy,
    control,
    async close() {
      await control?.dispose();
      await proxy.dispose();
    },
  };
}

/** Runs the command until a stop is requested; resolves with the exit code. */
export async function runFaultProxyCli(argv: string[], io: FaultProxyCliIO): Promise<number> {
  const args = parseFaultProxyArgs(argv);
  if ('error' in args) {
    io.stderr(`csi-fault-proxy: ${args.error}\n\n${FAULT_PROXY_USAGE}`);
    return 2;
  }
  if (args.help) {
    io.stdout(FAULT_PROXY_USAGE);
    return 0;
  }
  const logger = createLogger({ verbosity: args.v, ...(io.logWrite ? { write: io.logWrite } : {}) });
  let running: RunningFaultProxy;
  try {
    running = await startFaultProxyFromArgs(args, logger);
  } catch (err) {
    io.stderr(`csi-fault-proxy: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  await io.stopRequested;
  logger.info('Stopping');
  await running.close();
  return 0;
}
