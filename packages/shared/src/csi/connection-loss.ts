// What happens when the CSI driver goes away after we were connected. The Go sidecars exit so
// that Kubernetes restarts them and everything cached from the old driver process (name,
// capabilities, in-memory retries) is rebuilt from scratch; this is the default here too.
import { existsSync, writeFileSync } from 'node:fs';
import type { Logger } from '../logging/logger.js';

export const CONNECTION_LOST_MESSAGE = 'Lost connection to CSI driver, exiting';
export const TERMINATION_LOG_PATH = '/dev/termination-log';

export interface ConnectionLostInfo {
  /** The --csi-address as given. */
  readonly address: string;
  readonly socketPath: string;
  /** The channel state that revealed the loss (IDLE, TRANSIENT_FAILURE, ...). */
  readonly channelState: string;
  readonly logger: Logger;
}

export type ConnectionLostHandler = (info: ConnectionLostInfo) => void;

export interface ExitOnConnectionLossOptions {
  terminationLogPath?: string;
  /** Ends the process; by default flushes stderr and calls process.exit. */
  exit?: (code: number) => void;
}

/** Flush stderr (where the logs go) before exiting, but never wait for it longer than 10 s. */
function flushStderrAndExit(code: number): void {
  const timer = setTimeout(() => process.exit(code), 10_000);
  process.stderr.write('', () => {
    clearTimeout(timer);
    process.exit(code);
  });
}

export function createExitOnConnectionLoss(options: ExitOnConnectionLossOptions = {}): ConnectionLostHandler {
  const path = options.terminationLogPath ?? TERMINATION_LOG_PATH;
  const exit = options.exit ?? flushStderrAndExit;
  return ({ logger }) => {
    // Kubernetes creates the termination log in every container; elsewhere there is none to fill.
    if (existsSync(path)) {
      try {
        writeFileSync(path, CONNECTION_LOST_MESSAGE);
      } catch (err) {
        logger.error('Failed to write a message to the termination logfile', err, { terminationLogPath: path });
      }
    }
    logger.error(CONNECTION_LOST_MESSAGE);
    exit(1);
  };
}

/** The default: log, write /dev/termination-log when it exists, exit 1. */
export const exitOnConnectionLoss: ConnectionLostHandler = createExitOnConnectionLoss();
