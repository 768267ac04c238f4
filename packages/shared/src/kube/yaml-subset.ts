// A small YAML reader for kubeconfig files, so that loading credentials does not pull in
// @kubernetes/client-node (its module graph costs ~75 MiB of RSS and ~0.7 s at start-up).
// It reads the YAML that kubectl, kind, k3s, cloud CLIs and people write for kubeconfigs: block
// mappings and sequences, plain/single/double-quoted scalars, one-line flow collections, block
// scalars (| and >), comments. Anything else (anchors, aliases, tags, complex keys, multi-line
// quoted or plain scalars, several documents) throws YamlSubsetError; the caller then falls back
// to a full YAML parser, so an unusual file costs memory, never compatibility.
// Scalars resolve as YAML 1.2's core schema (what js-yaml, and so client-node, does).

export class YamlSubsetError extends Error {
  override readonly name = 'YamlSubsetError';
}

interface Line {
  /** 1-based line number, for messages. */
  no: number;
  indent: number;
  /** The content after the indentation, comments not yet stripped. */
  text: string;
}

export function parseYamlSubset(input: string): unknown {
  // JSON is YAML, and a JSON kubeconfig is usually spread over lines: read it as JSON.
  if (/^\s*[{[]/.test(input)) {
    try {
      return JSON.parse(input) as unknown;
    } catch {
      // Not JSON after all: a one-line flow collection, read below.
    }
  }
  const lines: Line[] = [];
  const raw = input.replace(/^\uFEFF/, '').split(/\r?\n/);
  let docStarted = false;
  for (let i = 0; i < raw.length; i++) {
    const l = raw[i]!;
    if (/^---(\s|$)/.test(l)) {
      if (docStarted || lines.some((x) => !isBlank(x.text))) throw new YamlSubsetError(`line ${i + 1}: several documents`);
      docStarted = true;
      if (l.slice(3).trim() !== '' && !l.slice(3).trim().startsWith('#')) throw new YamlSubsetError(`line ${i + 1}: content after ---`);
      continue;
    }
    if (/^\.\.\.(\s|$)/.test(l)) break;
    if (/^%/.test(l)) throw new YamlSubsetError(`line ${i + 1}: directives`);
    const m = /^( *)(.*)$/.exec(l)!;
    const indentStr = m[1]!;
    const text = m[2]!;
    if (text.startsWith('\t')) throw new YamlSubsetError(`line ${i + 1}: tab in indentation`);
    lines.push({ no: i + 1, indent: indentStr.length, text });
  }
  const p = new Parser(lines);
  p.skipBlank();
  if (p.done()) return null;
  const first = p.peek()!;
  const v = p.node(first.indent);
  p.skipBlank();
  if (!p.done()) throw new YamlSubsetError(`line ${p.peek()!.no}: unexpected content`);
  return v;
}

function isBlank(text: string): boolean {
  const t = text.trimStart();
  return t === '' || t.startsWith('#');
}

class Parser {
  #i = 0;
  readonly #lines: Line[];

  constructor(lines: Line[]) {
    this.#lines = lines;
  }

  done(): boolean {
    return this.#i >= this.#lines.length;
  }

  peek(): Line | undefined {
    return this.#lines[this.#i];
  }

  skipBlank(): void {
    while (!this.done() && isBlank(this.#lines[this.#i]!.text)) this.#i++;
  }

  /** The next non-blank line, without consuming it. */
  #nextContent(): Line | undefined {
    this.skipBlank();
    return this.peek();
  }

  node(indent: number): unknown {
    const line = this.#nextContent();
    if (!line) return null;
    if (isSeqItem(line.text)) return this.#sequence(line.indent);
    if (keyOf(line) !== undefined) return this.#mapping(line.indent);
    // A scalar on its own line (a document that is just a scalar, or a value on the next line).
    this.#i++;
    return this.#inlineValue(line, line.text, indent - 1);
  }

  #sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    for (;;) {
      const line = this.#nextContent();
      if (!line || line.indent !== indent || !isSeqItem(line.text)) break;
      const rest = line.text.slice(1);
      const spaces = /^ */.exec(rest)![0].length;
      const content = rest.slice(spaces);
      if (content === '' || content.startsWith('#')) {
        this.#i++;
        const next = this.#nextContent();
        out.push(next && next.indent > indent ? this.node(next.indent) : null);
        continue;
      }
      // "- key: value" or "- - x": the rest of the line is a node indented at its own column.
      const virtual: Line = { no: line.no, indent: indent + 1 + spaces, text: content };
      if (isSeqItem(content) || keyOf(virtual) !== undefined) {
        this.#lines[this.#i] = virtual;
        out.push(this.node(virtual.indent));
        continue;
      }
      this.#i++;
      out.push(this.#inlineValue(line, content, indent));
    }
    return out;
  }

  #mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      const line = this.#nextContent();
      if (!line || line.indent !== indent) break;
      const k = keyOf(line);
      if (k === undefined) {
        if (isSeqItem(line.text)) break;
        throw new YamlSubsetError(`line ${line.no}: expected "key: value"`);
      }
      if (Object.hasOwn(out, k.key)) throw new YamlSubsetError(`line ${line.no}: duplicate key ${JSON.stringify(k.key)}`);
      this.#i++;
      const rest = k.rest.trimStart();
      let value: unknown;
      if (rest === '' || rest.startsWith('#')) {
        const next = this.#nextContent();
        if (next && next.indent > indent) value = this.node(next.indent);
        else if (next && next.indent === indent && isSeqItem(next.text)) value = this.#sequence(indent);
        else value = null;
      } else {
        value = this.#inlineValue(line, rest, indent);
      }
      // Plain objects with a null prototype would surprise callers; guard the one key that matters.
      if (k.key === '__proto__') throw new YamlSubsetError(`line ${line.no}: key __proto__`);
      out[k.key] = value;
    }
    return out;
  }

  /** A value that starts on `line` (already consumed) as `text`; `indent` is its parent's. */
  #inlineValue(line: Line, text: string, indent: number): unknown {
    const c = text[0];
    if (c === '&' || c === '*' || c === '!' || c === '?' || c === '@' || c === '`') {
      throw new YamlSubsetError(`line ${line.no}: ${JSON.stringify(c)} (anchors, aliases, tags, complex keys) not supported`);
    }
    if (c === '|' || c === '>') return this.#blockScalar(line, text, indent);
    let value: unknown;
    let after: string;
    if (c === '"' || c === "'") {
      const q = quoted(text, 0, line.no);
      value = q.value;
      after = text.slice(q.end);
    } else if (c === '[' || c === '{') {
      const f = new FlowParser(text, line.no);
      value = f.value();
      after = text.slice(f.pos);
    } else {
      const s = stripComment(text);
      value = resolvePlain(s);
      after = '';
    }
    if (!isBlank(after)) throw new YamlSubsetError(`line ${line.no}: unexpected ${JSON.stringify(after.trim())}`);
    // Anything indented deeper on the next line would continue this value: not supported here.
    const next = this.#nextContent();
    if (next && next.indent > indent) throw new YamlSubsetError(`line ${next.no}: multi-line scalars or flow values not supported`);
    return value;
  }

  #blockScalar(line: Line, header: string, indent: number): string {
    const m = /^([|>])([-+]?)\s*(#.*)?$/.exec(header);
    if (!m) throw new YamlSubsetError(`line ${line.no}: block scalar header ${JSON.stringify(header)} not supported`);
    const folded = m[1] === '>';
    const chomp = m[2];
    const body: string[] = [];
    let blockIndent = -1;
    while (!this.done()) {
      const l = this.#lines[this.#i]!;
      const full = ' '.repeat(l.indent) + l.text;
      if (full.trim() === '') {
        body.push('');
        this.#i++;
        continue;
      }
      if (l.indent <= indent) break;
      if (blockIndent < 0) blockIndent = l.indent;
      if (l.indent < blockIndent) break;
      body.push(full.slice(blockIndent));
      this.#i++;
    }
    // Trailing blank lines belong to chomping, not to the next node.
    let trailing = 0;
    while (body.length > 0 && body[body.length - 1] === '') {
      body.pop();
      trailing++;
    }
    let text: string;
    if (folded) {
      text = '';
      for (let i = 0; i < body.length; i++) {
        const cur = body[i]!;
        const prev = body[i - 1];
        if (prev === undefined) text = cur;
        else if (prev.startsWith(' ') || cur.startsWith(' ')) text += '\n' + cur;
        // An empty line stands for one line break; the fold before it disappears.
        else if (cur === '') text += '\n';
        else if (prev === '') text += cur;
        else text += ' ' + cur;
      }
    } else {
      text = body.join('\n');
    }
    if (body.length === 0) return '';
    if (chomp === '-') return text;
    if (chomp === '+') return text + '\n' + '\n'.repeat(trailing);
    return text + '\n';
  }
}

function isSeqItem(text: string): boolean {
  return text === '-' || text.startsWith('- ') || text.startsWith('-\t');
}

/** "key: rest" on a line (key plain or quoted), or undefined if the line is not a mapping entry. */
function keyOf(line: Line): { key: string; rest: string } | undefined {
  const t = line.text;
  if (t.startsWith('"') || t.startsWith("'")) {
    const q = quoted(t, 0, line.no);
    const after = t.slice(q.end);
    if (!/^\s*:(\s|$)/.test(after)) return undefined;
    return { key: q.value, rest: after.slice(after.indexOf(':') + 1) };
  }
  if (t.startsWith('#') || t.startsWith('[') || t.startsWith('{') || isSeqItem(t)) return undefined;
  const idx = t.search(/:(\s|$)/);
  if (idx <= 0) return undefined;
  const key = t.slice(0, idx).trimEnd();
  // A colon inside a trailing comment does not make a key.
  if (key === '' || /(^|\s)#/.test(key)) return undefined;
  return { key, rest: t.slice(idx + 1) };
}

function stripComment(text: string): string {
  const m = /(^|\s)#/.exec(text);
  return (m ? text.slice(0, m.index) : text).trim();
}

function quoted(text: string, start: number, lineNo: number): { value: string; end: number } {
  const q = text[start];
  let out = '';
  let i = start + 1;
  if (q === "'") {
    for (; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === "'") {
        if (text[i + 1] === "'") {
          out += "'";
          i++;
          continue;
        }
        return { value: out, end: i + 1 };
      }
      out += ch;
    }
    throw new YamlSubsetError(`line ${lineNo}: single-quoted scalar does not end on its line`);
  }
  const escapes: Record<string, string> = { '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b', ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029' };
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') return { value: out, end: i + 1 };
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const e = text[++i];
    if (e === undefined) break;
    const hexLen = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    if (hexLen) {
      const hex = text.slice(i + 1, i + 1 + hexLen);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== hexLen) throw new YamlSubsetError(`line ${lineNo}: bad escape \\${e}${hex}`);
      out += String.fromCodePoint(parseInt(hex, 16));
      i += hexLen;
      continue;
    }
    const rep = escapes[e];
    if (rep === undefined) throw new YamlSubsetError(`line ${lineNo}: unknown escape \\${e}`);
    out += rep;
  }
  throw new YamlSubsetError(`line ${lineNo}: double-quoted scalar does not end on its line`);
}

/** YAML 1.2 core schema resolution of a plain scalar. */
export function resolvePlain(s: string): unknown {
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (s === 'true' || s === 'True' || s === 'TRUE') return true;
  if (s === 'false' || s === 'False' || s === 'FALSE') return false;
  if (/^[-+]?[0-9]+$/.test(s)) return Number(s);
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(s)) return NaN;
  return s;
}

class FlowParser {
  pos = 0;
  readonly #s: string;
  readonly #no: number;

  constructor(s: string, lineNo: number) {
    this.#s = s;
    this.#no = lineNo;
  }

  value(): unknown {
    this.#ws();
    const c = this.#s[this.pos];
    if (c === '[') return this.#seq();
    if (c === '{') return this.#map();
    if (c === '"' || c === "'") {
      const q = quoted(this.#s, this.pos, this.#no);
      this.pos = q.end;
      return q.value;
    }
    if (c === '&' || c === '*' || c === '!' || c === '?') throw new YamlSubsetError(`line ${this.#no}: ${JSON.stringify(c)} in a flow collection not supported`);
    const m = /^[^,[\]{}#]*/.exec(this.#s.slice(this.pos))!;
    let plain = m[0];
    // "a: b" inside a flow mapping: the plain scalar ends at ": ".
    const colon = /:(\s|$)/.exec(plain);
    if (colon) plain = plain.slice(0, colon.index);
    this.pos += plain.length;
    return resolvePlain(plain.trim());
  }

  #ws(): void {
    while (this.pos < this.#s.length && /\s/.test(this.#s[this.pos]!)) this.pos++;
  }

  #expect(ch: string): void {
    this.#ws();
    if (this.#s[this.pos] !== ch) throw new YamlSubsetError(`line ${this.#no}: expected ${JSON.stringify(ch)} in a flow collection`);
    this.pos++;
  }

  #seq(): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    this.#ws();
    if (this.#s[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.#ws();
      if (this.#s[this.pos] === ',') {
        this.pos++;
        this.#ws();
        if (this.#s[this.pos] === ']') {
          this.pos++;
          return out;
        }
        continue;
      }
      this.#expect(']');
      return out;
    }
  }

  #map(): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    this.#ws();
    if (this.#s[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      const k = this.value();
      if (typeof k === 'object' && k !== null) throw new YamlSubsetError(`line ${this.#no}: complex key in a flow mapping`);
      this.#ws();
      let v: unknown = null;
      if (this.#s[this.pos] === ':') {
        this.pos++;
        v = this.value();
      }
      const key = String(k);
      if (key === '__proto__' || Object.hasOwn(out, key)) throw new YamlSubsetError(`line ${this.#no}: bad or duplicate key ${JSON.stringify(key)}`);
      out[key] = v;
      this.#ws();
      if (this.#s[this.pos] === ',') {
        this.pos++;
        this.#ws();
        if (this.#s[this.pos] === '}') {
          this.pos++;
          return out;
        }
        continue;
      }
      this.#expect('}');
      return out;
    }
  }
}
