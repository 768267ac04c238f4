import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { memoryLogger } from '../logging/logger.js';
import { CONNECTION_LOST_MESSAGE, createExitOnConnectionLoss } from './connection-loss.js';

const dir = mkdtempSync(join(tmpdir(), 'csi-loss-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function info() {
  const { logger, lines } = memoryLogger(0);
  return { lines, info: { address: '/run/csi/socket', socketPath: '/run/csi/socket', channelState: 'IDLE', logger } };
}

describe('exitOnConnectionLoss', () => {
  it('writes the termination log, logs the message and exits 1', () => {
    const path = join(dir, 'termination-log');
    writeFileSync(path, '');
    const exits: number[] = [];
    const { lines, info: i } = info();
    createExitOnConnectionLoss({ terminationLogPath: path, exit: (c) => exits.push(c) })(i);
    expect(readFileSync(path, 'utf8')).toBe('Lost connection to CSI driver, exiting');
    expect(exits).toEqual([1]);
    expect(lines.map((l) => JSON.parse(l) as { level: string; msg: string })).toEqual([
      expect.objectContaining({ level: 'error', msg: CONNECTION_LOST_MESSAGE }),
    ]);
  });

  it('does not create a termination log where the container has none', () => {
    const path = join(dir, 'absent', 'termination-log');
    const exits: number[] = [];
    createExitOnConnectionLoss({ terminationLogPath: path, exit: (c) => exits.push(c) })(info().info);
    expect(existsSync(path)).toBe(false);
    expect(exits).toEqual([1]);
  });

  it('still exits when the termination log cannot be written', () => {
    const exits: number[] = [];
    const { lines, info: i } = info();
    // A directory exists but cannot be written as a file.
    createExitOnConnectionLoss({ terminationLogPath: dir, exit: (c) => exits.push(c) })(i);
    expect(exits).toEqual([1]);
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      'Failed to write a message to the termination logfile',
      CONNECTION_LOST_MESSAGE,
    ]);
  });
});
