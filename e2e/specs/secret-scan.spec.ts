// The end-of-run secret check (e2e/src/harness/secret-scan.ts, run by global-teardown.ts) must
// catch a planted value that reached a log: plain or base64-encoded, naming the file and line,
// and it must not read anything but logs (etcd's data holds secrets by design). No cluster needed.
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPlanted, recordPlanted, secretValue } from '../src/harness/planted-secrets.js';
import { checkRunLogs, describeHits, logFiles, scanForSecrets, secretsFoundMessage } from '../src/harness/secret-scan.js';

const dirs: string[] = [];
function workDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'secret-scan-'));
  dirs.push(d);
  mkdirSync(join(d, 'logs'));
  mkdirSync(join(d, 'etcd'));
  return d;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('secret check over the logs of a run', () => {
  it('finds a planted value in a log line, with the file and line, and never prints the value', () => {
    const dir = workDir();
    const leaked = secretValue('password');
    recordPlanted(dir, 'ns', 'creds', { password: leaked, user: secretValue('user') });
    writeFileSync(join(dir, 'logs', 'csi-provisioner.log'), `I0 started\nI1 "CreateVolume" secrets="***stripped***"\nE2 request={"secrets":{"password":"${leaked}"}}\n`);
    writeFileSync(join(dir, 'logs', 'csi-attacher.log'), 'I0 nothing here\n');
    const hits = scanForSecrets(logFiles(dir), readPlanted(dir));
    expect(hits).toEqual([{ file: join(dir, 'logs', 'csi-provisioner.log'), line: 3, source: 'ns/creds:password', encoding: 'plain' }]);
    const text = describeHits(hits, dir);
    expect(text).toBe('logs/csi-provisioner.log:3: value of secret ns/creds:password');
    expect(text).not.toContain(leaked);
  });

  it('finds a value logged base64-encoded (a Secret object dumped as it is)', () => {
    const dir = workDir();
    const value = secretValue('token');
    recordPlanted(dir, 'vault', 'shared', { token: value });
    writeFileSync(join(dir, 'logs', 'sub.log'), `secret data: {"token":"${Buffer.from(value).toString('base64')}"}\n`);
    expect(scanForSecrets(logFiles(dir), readPlanted(dir))).toMatchObject([{ line: 1, source: 'vault/shared:token', encoding: 'base64' }]);
  });

  it('reads only log files: etcd data and other files holding the value are not hits', () => {
    const dir = workDir();
    const value = secretValue('password');
    recordPlanted(dir, 'ns', 'creds', { password: value });
    writeFileSync(join(dir, 'etcd', 'db'), `binary ${value}`);
    writeFileSync(join(dir, 'cluster-info.json'), `{"x":"${value}"}`);
    writeFileSync(join(dir, 'logs', 'clean.log'), 'nothing to see\n');
    expect(logFiles(dir)).toEqual([join(dir, 'logs', 'clean.log')]);
    expect(scanForSecrets(logFiles(dir), readPlanted(dir))).toEqual([]);
  });

  it('refuses short planted values, which would match ordinary log text', () => {
    expect(() => recordPlanted(workDir(), 'ns', 'creds', { password: 'p' })).toThrow('secret ns/creds key password: planted values must be at least 8 characters');
  });

  it('reports the whole run as the global teardown does: file and line, value never printed', () => {
    const dir = workDir();
    const value = secretValue('password');
    recordPlanted(dir, 'ns', 'creds', { password: value });
    recordPlanted(dir, 'ns', 'other', { token: secretValue('token') });
    writeFileSync(join(dir, 'logs', 'csi-resizer.log'), `a\nb\nleak ${value}\n`);
    const { planted, files, hits } = checkRunLogs(dir);
    expect(planted).toHaveLength(2);
    expect(files).toEqual([join(dir, 'logs', 'csi-resizer.log')]);
    const message = secretsFoundMessage(dir, hits);
    expect(message).toBe(`1 planted secret value(s) found in the logs of the run (kept in ${dir}):\nlogs/csi-resizer.log:3: value of secret ns/creds:password`);
    expect(message).not.toContain(value);
    writeFileSync(join(dir, 'logs', 'csi-resizer.log'), 'clean now\n');
    expect(checkRunLogs(dir).hits).toEqual([]);
  });
});
