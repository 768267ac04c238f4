import { describe, expect, it } from '@jest/globals';
import { CsiAddressError, parseCsiAddress } from './address.js';

describe('parseCsiAddress', () => {
  it.each([
    ['/run/csi/socket', '/run/csi/socket'],
    ['unix:///run/csi/socket', '/run/csi/socket'],
    ['/csi/csi.sock', '/csi/csi.sock'],
    ['unix:///var/lib/kubelet/plugins/ebs.csi.aws.com/csi.sock', '/var/lib/kubelet/plugins/ebs.csi.aws.com/csi.sock'],
  ])('accepts %s', (address, socketPath) => {
    expect(parseCsiAddress(address)).toEqual({ original: address, socketPath, target: `unix://${socketPath}` });
  });

  it.each([
    ['', 'must not be empty'],
    ['  ', 'must not be empty'],
    [' /run/csi/socket', 'must not have leading or trailing spaces'],
    ['unix://run/csi/socket', 'unix:// must be followed by an absolute path (unix:///path/to/socket); "unix://run/csi/socket" would be read as host "run"'],
    ['unix://csi.sock', 'unix:// must be followed by an absolute path'],
    ['unix:/run/csi/socket', 'use unix:///absolute/path (with three slashes) or a plain absolute path'],
    ['tcp://127.0.0.1:10000', 'only unix domain sockets are supported (scheme "tcp")'],
    ['dns:///csi.example.com:443', 'only unix domain sockets are supported (scheme "dns")'],
    ['localhost:10000', 'only unix domain sockets are supported (scheme "localhost")'],
    ['csi.sock', 'a socket path must be absolute'],
    ['./csi/csi.sock', 'a socket path must be absolute'],
    ['/run/csi/', 'names a directory, not a socket file'],
    ['unix:///', 'names a directory, not a socket file'],
  ])('rejects %j', (address, why) => {
    let caught: unknown;
    try {
      parseCsiAddress(address);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CsiAddressError);
    expect((caught as Error).message).toContain(`invalid --csi-address ${JSON.stringify(address)}: `);
    expect((caught as Error).message).toContain(why);
  });

  it('names the flag it was given', () => {
    expect(() => parseCsiAddress('tcp://x', '--csi-endpoint')).toThrow('invalid --csi-endpoint "tcp://x"');
  });
});
