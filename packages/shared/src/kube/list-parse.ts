// Parses a LIST answer item by item. A 5000-object list is ~9 MB of JSON; JSON.parse of the whole
// body needs the body as one string plus every raw object (managedFields and all) at the same
// time before the cache transform trims them, and V8 keeps the heap it grew for that peak. Here
// the top-level "items" array is found by a byte scan (UTF-8 never puts '"', '\' or brackets
// inside a multi-byte sequence), each item is parsed from its own slice and passed through the
// transform at once, so the untrimmed form of only one object exists at a time.

import type { KubeList, KubeObject } from './object.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const ITEMS_KEY = Buffer.from('"items"');

function isWs(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** Index just past the string that starts at `i` (a quote). */
function skipString(buf: Buffer, i: number): number {
  for (let j = i + 1; j < buf.length; j++) {
    const b = buf[j]!;
    if (b === BACKSLASH) j++;
    else if (b === QUOTE) return j + 1;
  }
  throw new SyntaxError('unterminated string in list body');
}

/** Index just past the object or array that starts at `i`. */
function skipComposite(buf: Buffer, i: number): number {
  let depth = 0;
  for (let j = i; j < buf.length; j++) {
    const b = buf[j]!;
    if (b === QUOTE) {
      j = skipString(buf, j) - 1;
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      depth++;
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  throw new SyntaxError('unterminated object in list body');
}

/**
 * Parses a list body; `eachItem` maps every item as soon as it is parsed (e.g. a cache transform).
 * Falls back to a plain JSON.parse for a body whose shape it does not expect.
 */
export function parseListBody(body: Buffer, eachItem?: (item: KubeObject) => KubeObject): KubeList {
  const whole = (): KubeList => {
    const list = JSON.parse(body.toString('utf8')) as KubeList;
    if (eachItem && Array.isArray(list?.items)) list.items = (list.items as KubeObject[]).map(eachItem);
    return list;
  };
  let i = 0;
  while (i < body.length && isWs(body[i]!)) i++;
  if (body[i] !== OPEN_BRACE) return whole();
  i++;
  // Walk the top-level members: "key": value, looking for "items": [ ... ].
  for (;;) {
    while (i < body.length && (isWs(body[i]!) || body[i] === 0x2c)) i++;
    if (i >= body.length || body[i] === CLOSE_BRACE) return whole();
    if (body[i] !== QUOTE) return whole();
    const keyEnd = skipString(body, i);
    const isItems = keyEnd - i === ITEMS_KEY.length && body.compare(ITEMS_KEY, 0, ITEMS_KEY.length, i, keyEnd) === 0;
    i = keyEnd;
    while (i < body.length && isWs(body[i]!)) i++;
    if (body[i] !== COLON) return whole();
    i++;
    while (i < body.length && isWs(body[i]!)) i++;
    if (isItems && body[i] === OPEN_BRACKET) break;
    // Skip any other value.
    const b = body[i];
    if (b === QUOTE) i = skipString(body, i);
    else if (b === OPEN_BRACE || b === OPEN_BRACKET) i = skipComposite(body, i);
    else while (i < body.length && body[i] !== 0x2c && body[i] !== CLOSE_BRACE) i++;
  }
  const arrayStart = i;
  const items: KubeObject[] = [];
  i++;
  for (;;) {
    while (i < body.length && (isWs(body[i]!) || body[i] === 0x2c)) i++;
    if (i >= body.length) return whole();
    if (body[i] === CLOSE_BRACKET) break;
    if (body[i] !== OPEN_BRACE) return whole();
    const end = skipComposite(body, i);
    const item = JSON.parse(body.toString('utf8', i, end)) as KubeObject;
    items.push(eachItem ? eachItem(item) : item);
    i = end;
  }
  const arrayEnd = i + 1;
  // Everything but the items (kind, apiVersion, metadata with resourceVersion and continue).
  const rest = JSON.parse(`${body.toString('utf8', 0, arrayStart)}[]${body.toString('utf8', arrayEnd)}`) as KubeList;
  rest.items = items;
  return rest;
}
