// Test harness: a fake plugin and a connection to it, both owned by one DisposableStore so that
// every test tears down its sockets and channels even when it fails.
import { DisposableStore } from '../../lifecycle/disposable.js';
import { memoryLogger } from '../../logging/logger.js';
import type { Logger } from '../../logging/logger.js';
import { CsiConnection } from '../connection.js';
import type { CsiConnectionOptions } from '../connection.js';
import type { ConnectionLostInfo } from '../connection-loss.js';
import { FakeCsiPlugin } from '../testing/fake-plugin.js';
import type { FakeCsiPluginOptions } from '../testing/fake-plugin.js';

export interface Harness {
  plugin: FakeCsiPlugin;
  connection: CsiConnection;
  lost: ConnectionLostInfo[];
  lines: string[];
  logger: Logger;
}

export function newStore(): DisposableStore {
  return new DisposableStore();
}

/** A fake plugin (started unless `startPlugin: false`) and an unstarted connection to it. */
export async function harness(
  store: DisposableStore,
  options: {
    plugin?: FakeCsiPluginOptions;
    connection?: Partial<CsiConnectionOptions>;
    startPlugin?: boolean;
    verbosity?: number;
  } = {},
): Promise<Harness> {
  const plugin = store.add(new FakeCsiPlugin(options.plugin));
  if (options.startPlugin !== false) await plugin.start();
  const { logger, lines } = memoryLogger(options.verbosity ?? 5);
  const lost: ConnectionLostInfo[] = [];
  const connection = store.add(
    new CsiConnection({
      address: plugin.socketPath,
      probeIntervalMs: 20,
      socketPollIntervalMs: 20,
      timeoutMs: 2000,
      logger,
      onConnectionLost: (info) => lost.push(info),
      ...options.connection,
    }),
  );
  return { plugin, connection, lost, lines, logger };
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Parsed JSON log lines of memoryLogger. */
export function logRecords(lines: readonly string[]): Record<string, unknown>[] {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}
