// Parsing of --csi-address. The Go sidecars accept an absolute socket path (turned into
// unix://<path>) or a unix:// URL; anything else fails at start-up because their
// exit-on-connection-loss callback is only allowed for unix sockets. We accept the same set,
// and additionally refuse unix://relative/path, which grpc-js would silently misread as
// authority "relative" plus path "path".

export interface CsiAddress {
  /** What the user passed. */
  readonly original: string;
  /** Absolute path of the unix domain socket. */
  readonly socketPath: string;
  /** gRPC target for grpc-js: `unix:///abs/path`. */
  readonly target: string;
}

export class CsiAddressError extends Error {
  override readonly name = 'CsiAddressError';
}

const UNIX_PREFIX = 'unix://';

export function parseCsiAddress(address: string, flagName = '--csi-address'): CsiAddress {
  const original = address;
  const bad = (why: string) => new CsiAddressError(`invalid ${flagName} ${JSON.stringify(original)}: ${why}`);

  if (address.trim() === '') throw bad('must not be empty');
  if (address !== address.trim()) throw bad('must not have leading or trailing spaces');

  let socketPath: string;
  if (address.startsWith('/')) {
    socketPath = address;
  } else if (address.startsWith(UNIX_PREFIX)) {
    socketPath = address.slice(UNIX_PREFIX.length);
    if (!socketPath.startsWith('/')) {
      throw bad(
        `unix:// must be followed by an absolute path (unix:///path/to/socket); ` +
          `"unix://${socketPath}" would be read as host "${socketPath.split('/')[0]}"`,
      );
    }
  } else if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(address)) {
    const scheme = address.slice(0, address.indexOf(':'));
    throw bad(
      scheme === 'unix'
        ? 'use unix:///absolute/path (with three slashes) or a plain absolute path'
        : `only unix domain sockets are supported (scheme "${scheme}"); use an absolute path or unix:///absolute/path`,
    );
  } else {
    throw bad('a socket path must be absolute (as in the Go sidecars); use /path/to/socket or unix:///path/to/socket');
  }

  if (socketPath === '/' || socketPath.endsWith('/')) throw bad('names a directory, not a socket file');
  if (socketPath.includes('\0')) throw bad('contains a NUL character');
  return { original, socketPath, target: `${UNIX_PREFIX}${socketPath}` };
}
