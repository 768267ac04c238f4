import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTerminationMessage } from './termination-log.js';

describe('writeTerminationMessage', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'termination-log-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('replaces the content of an existing termination log', () => {
    const path = join(dir, 'termination-log');
    writeFileSync(path, 'an older and much longer message from a previous run');
    expect(writeTerminationMessage('Lost connection to CSI driver, exiting', path)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('Lost connection to CSI driver, exiting');
  });

  it('does not create the file when it is missing (not running in a pod)', () => {
    const path = join(dir, 'missing');
    expect(writeTerminationMessage('bye', path)).toBe(false);
    expect(existsSync(path)).toBe(false);
  });

  it('returns false instead of throwing when the path cannot be written', () => {
    expect(writeTerminationMessage('bye', dir)).toBe(false);
    expect(writeTerminationMessage('bye', join(dir, 'no-such-dir', 'file'))).toBe(false);
  });

  it('keeps at most the 4096 bytes the kubelet reads', () => {
    const path = join(dir, 'termination-log');
    writeFileSync(path, '');
    expect(writeTerminationMessage('x'.repeat(5000), path)).toBe(true);
    expect(readFileSync(path).length).toBe(4096);
  });
});
