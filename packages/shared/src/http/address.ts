// --http-endpoint / --metrics-address values, parsed as Go's net.Listen("tcp", addr) reads them:
// "host:port", "[ipv6]:port", or ":port" for every interface.

export interface ListenAddress {
  /** undefined: all interfaces (the ":8080" form). */
  host: string | undefined;
  port: number;
}

export function parseListenAddress(value: string, flagName = '--http-endpoint'): ListenAddress {
  const bad = (why: string) => new Error(`invalid ${flagName} ${JSON.stringify(value)}: ${why} (expected host:port, [ipv6]:port or :port)`);
  if (value === '') throw bad('empty');
  let host: string;
  let portText: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) throw bad('missing "]" after the IPv6 address');
    host = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (!rest.startsWith(':')) throw bad('missing port');
    portText = rest.slice(1);
    if (host === '') throw bad('empty IPv6 address in brackets');
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) throw bad('missing port');
    host = value.slice(0, colon);
    portText = value.slice(colon + 1);
    if (host.includes(':')) throw bad('IPv6 addresses must be written in brackets');
  }
  if (!/^\d{1,5}$/.test(portText)) throw bad(portText === '' ? 'missing port' : `port ${JSON.stringify(portText)} is not a number`);
  const port = Number(portText);
  if (port > 65_535) throw bad(`port ${port} is out of range 0-65535`);
  if (/\s/.test(host)) throw bad('host contains whitespace');
  return { host: host === '' ? undefined : host, port };
}
