import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeClock } from '../lifecycle/clock.js';
import { CREDENTIAL_FILE_REFRESH_MS, CredentialsConnection } from './connection.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'connection-test-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const bearer = async (c: CredentialsConnection) => {
  const opts: { headers: Record<string, string> } = { headers: {} };
  await c.applyToHTTPSOptions(opts);
  return opts.headers.Authorization;
};

describe('CredentialsConnection', () => {
  it('re-reads a rotated token file after a minute, as client-go does for bound service-account tokens', async () => {
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, 'first\n');
    const clock = new FakeClock();
    const c = new CredentialsConnection({ server: 'https://x', tokenFile }, clock);
    expect(await bearer(c)).toBe('Bearer first');
    fs.writeFileSync(tokenFile, 'second\n');
    await clock.advance(CREDENTIAL_FILE_REFRESH_MS - 1);
    expect(await bearer(c)).toBe('Bearer first');
    await clock.advance(1);
    expect(await bearer(c)).toBe('Bearer second');
  });

  it('keeps the last good token when the file is briefly missing during a rotation', async () => {
    const tokenFile = path.join(dir, 'token2');
    fs.writeFileSync(tokenFile, 'kept');
    const clock = new FakeClock();
    const c = new CredentialsConnection({ server: 'https://x', tokenFile }, clock);
    expect(await bearer(c)).toBe('Bearer kept');
    fs.rmSync(tokenFile);
    await clock.advance(CREDENTIAL_FILE_REFRESH_MS);
    expect(await bearer(c)).toBe('Bearer kept');
  });

  it('an inline token wins over a token file', async () => {
    expect(await bearer(new CredentialsConnection({ server: 'https://x', token: 'inline', tokenFile: path.join(dir, 'none') }))).toBe('Bearer inline');
  });
});
