// Splits a watch response body into events. The apiserver writes one JSON object per line; we
// split on '\n' ourselves (over Buffers, so multi-byte characters split across chunks are safe)
// instead of using readline, to get one error path: a malformed line ends the watch with an
// error (the reflector backs off and resumes from its last resourceVersion) instead of being
// skipped, which would silently lose an event.

import type { KubeObject } from './object.js';
import { KubeTransportError } from './errors.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T = KubeObject> {
  type: WatchEventType | (string & {});
  object: T;
}

/** A line longer than this is taken as a broken stream, not an object. */
export const MAX_WATCH_LINE_BYTES = 64 * 1024 * 1024;

export async function* parseWatchEvents(body: AsyncIterable<Buffer | string>, maxLineBytes = MAX_WATCH_LINE_BYTES): AsyncGenerator<WatchEvent> {
  let pending: Buffer[] = [];
  let pendingLen = 0;
  for await (const chunk of body) {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    for (;;) {
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (buf.length > 0) {
          pending.push(buf);
          pendingLen += buf.length;
          if (pendingLen > maxLineBytes) throw new KubeTransportError(`watch stream: a line exceeds ${maxLineBytes} bytes without a newline`);
        }
        break;
      }
      const head = buf.subarray(0, nl);
      const line = pending.length > 0 ? Buffer.concat([...pending, head]) : head;
      pending = [];
      pendingLen = 0;
      buf = buf.subarray(nl + 1);
      const ev = parseLine(line);
      if (ev) yield ev;
    }
  }
  if (pendingLen > 0) {
    // The last object may come without a trailing newline.
    const ev = parseLine(Buffer.concat(pending));
    if (ev) yield ev;
  }
}

function parseLine(line: Buffer): WatchEvent | undefined {
  const text = line.toString('utf8').trim();
  if (text === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new KubeTransportError(`watch stream: malformed event (${(err as Error).message}): ${text.slice(0, 200)}`, { cause: err });
  }
  const ev = v as { type?: unknown; object?: unknown };
  if (!v || typeof v !== 'object' || typeof ev.type !== 'string' || !ev.object || typeof ev.object !== 'object') {
    throw new KubeTransportError(`watch stream: not a watch event: ${text.slice(0, 200)}`);
  }
  return { type: ev.type, object: ev.object as KubeObject };
}
