import { describe, expect, it } from '@jest/globals';
import { parseListBody } from './list-parse.js';
import type { KubeObject } from './object.js';

const list = {
  kind: 'PersistentVolumeList',
  apiVersion: 'v1',
  metadata: { resourceVersion: '42', continue: 'tok"en]{', remainingItemCount: 3 },
  items: [
    { metadata: { name: 'a', annotations: { 'x/y': 'brace } bracket ] quote " backslash \\ ünïcödé 🚀' }, managedFields: [{ manager: 'm' }] }, spec: { n: [1, [2, { z: null }]] } },
    { metadata: { name: 'b' }, spec: {} },
  ],
};

describe('parseListBody', () => {
  it('parses items one by one and agrees with JSON.parse, whatever the strings contain', () => {
    for (const text of [JSON.stringify(list), JSON.stringify(list, null, 2)]) {
      expect(parseListBody(Buffer.from(text))).toEqual(JSON.parse(text));
    }
  });

  it('hands every item to eachItem as it is parsed and keeps what it returns', () => {
    const seen: string[] = [];
    const got = parseListBody(Buffer.from(JSON.stringify(list)), (item: KubeObject) => {
      seen.push(item.metadata!.name!);
      const { managedFields: _m, ...meta } = item.metadata!;
      return { ...item, metadata: meta };
    });
    expect(seen).toEqual(['a', 'b']);
    expect(got.items.map((i) => i.metadata)).toEqual([{ name: 'a', annotations: list.items[0]!.metadata.annotations }, { name: 'b' }]);
    expect(got.metadata).toEqual(list.metadata);
  });

  it('finds items wherever they are among the members, and an empty list', () => {
    const reordered = `{"items":[{"metadata":{"name":"x"}}],"metadata":{"resourceVersion":"7"},"kind":"L"}`;
    expect(parseListBody(Buffer.from(reordered))).toEqual(JSON.parse(reordered));
    const empty = `{"kind":"L","metadata":{"resourceVersion":"1"},"items":[]}`;
    expect(parseListBody(Buffer.from(empty))).toEqual(JSON.parse(empty));
  });

  it('falls back to JSON.parse for other shapes (no items, items null) and throws SyntaxError on bad JSON', () => {
    const noItems = `{"kind":"Status","code":500}`;
    expect(parseListBody(Buffer.from(noItems))).toEqual(JSON.parse(noItems));
    const nullItems = `{"kind":"L","items":null}`;
    expect(parseListBody(Buffer.from(nullItems))).toEqual(JSON.parse(nullItems));
    expect(() => parseListBody(Buffer.from('{"items":[{"a":'))).toThrow(SyntaxError);
    expect(() => parseListBody(Buffer.from('not json'))).toThrow(SyntaxError);
  });
});
