// Help text in the layout of the Go flag package (attacher, resizer) or pflag (provisioner), so
// `--help` looks like what operators have seen from the Go sidecars.

import type { AnyFlagDef, FlagDefs } from './definitions.js';
import { goQuote } from './go-syntax.js';
import type { FlagDialect } from './parser.js';

export interface UsageOptions {
  program: string;
  dialect?: FlagDialect;
  /** Text after the flag list (e.g. which accepted flags have no effect). */
  footer?: string;
}

// A back-quoted word in the usage names the value ("example: `:8080`" shows `--x :8080`), as in Go.
function unquoteUsage(def: AnyFlagDef, dialect: FlagDialect): { valueName: string; usage: string } {
  const m = /`([^`]*)`/.exec(def.usage);
  if (m) return { valueName: m[1]!, usage: def.usage.replace(m[0], m[1]!) };
  return { valueName: dialect === 'goflag' ? def.goTypeName : def.typeName, usage: def.usage };
}

function defaultSuffix(def: AnyFlagDef): string {
  if (def.defaultText === undefined) return '';
  return ` (default ${def.quoteDefault ? goQuote(def.defaultText) : def.defaultText})`;
}

function deprecatedSuffix(def: AnyFlagDef): string {
  return def.deprecated !== undefined ? ` (DEPRECATED: ${def.deprecated})` : '';
}

function visible(defs: FlagDefs): AnyFlagDef[] {
  return Object.values(defs)
    .filter((d) => !d.hidden)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function goflagLines(defs: FlagDefs): string[] {
  return visible(defs).map((def) => {
    const { valueName, usage } = unquoteUsage(def, 'goflag');
    let head = `  -${def.name}`;
    if (valueName !== '') head += ` ${valueName}`;
    // Go keeps one-letter booleans on one line and puts everything else on the next.
    head += head.length <= 4 ? '\t' : '\n    \t';
    return head + usage.replaceAll('\n', '\n    \t') + defaultSuffix(def) + deprecatedSuffix(def);
  });
}

function pflagLines(defs: FlagDefs): string[] {
  const rows = visible(defs).map((def) => {
    const { valueName, usage } = unquoteUsage(def, 'pflag');
    let head = def.shorthand !== undefined ? `  -${def.shorthand}, --${def.name}` : `      --${def.name}`;
    if (valueName !== '') head += ` ${valueName}`;
    const text = usage + defaultSuffix(def) + deprecatedSuffix(def);
    return { head, text };
  });
  const width = Math.max(0, ...rows.map((r) => r.head.length));
  const indent = ' '.repeat(width + 3);
  return rows.map((r) => `${r.head.padEnd(width)}   ${r.text.replaceAll('\n', `\n${indent}`)}`);
}

/** "Usage of <program>:" followed by every visible flag, sorted by name. Ends with a newline. */
export function formatUsage(defs: FlagDefs, opts: UsageOptions): string {
  const lines = (opts.dialect ?? 'goflag') === 'pflag' ? pflagLines(defs) : goflagLines(defs);
  let text = `Usage of ${opts.program}:\n${lines.join('\n')}\n`;
  if (opts.footer) text += `\n${opts.footer.trimEnd()}\n`;
  return text;
}
