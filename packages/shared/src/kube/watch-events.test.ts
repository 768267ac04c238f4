import { describe, expect, it } from '@jest/globals';
import { KubeTransportError } from './errors.js';
import { parseWatchEvents } from './watch-events.js';

async function collect(chunks: (string | Buffer)[]): Promise<unknown[]> {
  async function* source() {
    for (const c of chunks) yield c;
  }
  const out: unknown[] = [];
  for await (const ev of parseWatchEvents(source())) out.push(ev);
  return out;
}

const ev = (type: string, name: string) => JSON.stringify({ type, object: { metadata: { name } } });

describe('parseWatchEvents', () => {
  it('splits lines across and within chunks, skipping blank lines', async () => {
    const text = `${ev('ADDED', 'a')}\n\n${ev('MODIFIED', 'b')}\r\n${ev('DELETED', 'c')}\n`;
    const chunks = [text.slice(0, 7), text.slice(7, 60), text.slice(60)];
    const got = await collect(chunks);
    expect(got).toEqual([
      { type: 'ADDED', object: { metadata: { name: 'a' } } },
      { type: 'MODIFIED', object: { metadata: { name: 'b' } } },
      { type: 'DELETED', object: { metadata: { name: 'c' } } },
    ]);
  });

  it('keeps multi-byte characters intact when a chunk boundary splits them', async () => {
    const buf = Buffer.from(`${ev('ADDED', 'zażółć-日本')}\n`, 'utf8');
    const cut = buf.indexOf(Buffer.from('日', 'utf8')) + 1;
    const got = await collect([buf.subarray(0, cut), buf.subarray(cut)]);
    expect(got).toEqual([{ type: 'ADDED', object: { metadata: { name: 'zażółć-日本' } } }]);
  });

  it('accepts a last event without a trailing newline', async () => {
    expect(await collect([ev('BOOKMARK', 'x')])).toHaveLength(1);
  });

  it('ends with an error on a malformed line instead of skipping it', async () => {
    await expect(collect([`${ev('ADDED', 'a')}\n{"type":"ADDED","obj`, '\n'])).rejects.toThrow(KubeTransportError);
    await expect(collect(['{"kind":"Status"}\n'])).rejects.toThrow(/not a watch event/);
  });
});
