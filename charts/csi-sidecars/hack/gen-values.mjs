#!/usr/bin/env node
// Regenerates the flag parts of the chart from the sidecars' own flag definitions (the built
// packages/<sidecar>/dist/cmd/flags.js), so that every flag is reachable from values with its Go
// default and a typo fails at install time:
//   - values.yaml: the `flags:` block of each sidecar, between the ">>> flags of" / "<<< flags of" markers;
//   - values.schema.json: properties.<sidecar>.properties.flags;
//   - templates/_flags.tpl: the flag tables the templates turn into command-line arguments;
//   - README.md: the flag tables between the "<!-- >>> flags of" / "<!-- <<< flags of" markers.
//
// Usage (after `npm run build`):  node charts/csi-sidecars/hack/gen-values.mjs [--check]
// --check writes nothing and exits 1 when a file differs from what would be generated.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, relative } from 'node:path';

const chartDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = join(chartDir, '..', '..');

export const SIDECARS = [
  { key: 'provisioner', program: 'csi-provisioner', flagsFn: 'provisionerFlags', gates: 'PROVISIONER_FEATURE_GATES' },
  { key: 'attacher', program: 'csi-attacher', flagsFn: 'attacherFlags', gates: 'ATTACHER_FEATURE_GATES' },
  { key: 'resizer', program: 'csi-resizer', flagsFn: 'resizerFlags', gates: 'RESIZER_FEATURE_GATES' },
];

/** Flags the chart sets itself (not values keys), and why. Hidden flags (klog no-ops) are left out too. */
export const CHART_MANAGED_FLAGS = {
  'csi-address': 'set by the chart: the socket in the shared emptyDir, /csi/csi.sock',
  'http-endpoint': 'set by the chart from <sidecar>.httpPort (metrics, liveness probe)',
  'leader-election': 'set by the chart from leaderElection.enabled',
  'metrics-address': 'deprecated, and cannot be combined with --http-endpoint, which the chart always sets',
  version: 'prints the version and exits',
};

const DURATION_PATTERN = '^(0|[-+]?([0-9]*(\\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+)$';

const probeCtx = { firstSet: true, warn() {} };

function camelCase(flagName) {
  return flagName.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
}

/** The allowed words of an enum flag, read from its own error message and checked against set(). */
function enumWords(def) {
  try {
    def.set('\u0001not-a-word', def.initial(), probeCtx);
    return undefined;
  } catch (err) {
    const m = /must be one of (.+)$/.exec(err.message);
    if (!m) throw new Error(`--${def.name}: refused a probe value with an unexpected message: ${err.message}`);
    const words = [...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]);
    for (const w of words) def.set(w, def.initial(), probeCtx);
    return words;
  }
}

/** How one flag maps onto values: its kind (how the template prints it), default and schema. */
function describeFlag(def, gateSpecs) {
  const usage = def.usage.split('\n')[0];
  const base = { key: camelCase(def.name), flag: def.name, usage };
  if (def.isBool) {
    const d = def.initial();
    return { ...base, kind: 'bool', value: d, text: String(d), schema: { type: 'boolean' } };
  }
  switch (def.typeName) {
    case 'int':
    case 'uint':
    case 'Level': {
      const d = def.initial();
      const schema = { type: 'integer' };
      if (def.typeName !== 'int') schema.minimum = 0;
      return { ...base, kind: 'int', value: d, text: String(d), schema };
    }
    case 'float32':
    case 'float64': {
      const d = def.initial();
      return { ...base, kind: 'float', value: d, text: String(d), schema: { type: 'number' } };
    }
    case 'duration': {
      const d = def.defaultText ?? '0s';
      return { ...base, kind: 'string', value: d, text: d, schema: { type: 'string', pattern: DURATION_PATTERN } };
    }
    case 'quantity': {
      const d = def.defaultText ?? '0';
      return { ...base, kind: 'string', value: d, text: d, schema: { type: ['string', 'integer'] } };
    }
    case 'pattern=N,...': {
      // --vmodule: kept as the comma-separated text Go takes.
      return { ...base, kind: 'string', value: '', text: '', schema: { type: 'string' } };
    }
    case 'string': {
      const d = def.initial();
      const words = enumWords(def);
      const schema = words ? { type: 'string', enum: words } : { type: 'string' };
      return { ...base, kind: 'string', value: d, text: d, schema };
    }
    case 'mapStringString': {
      // Which separator the flag takes between key and value (":" for --leader-election-labels).
      let sep = '=';
      try {
        def.set('k:v', def.initial(), probeCtx);
        sep = ':';
      } catch {
        def.set('k=v', def.initial(), probeCtx);
      }
      return {
        ...base,
        kind: 'map',
        sep,
        value: {},
        text: '',
        schema: { type: 'object', additionalProperties: { type: 'string' } },
      };
    }
    case 'mapStringBool': {
      if (!gateSpecs) throw new Error(`--${def.name}: a feature-gate flag but no gate list was given`);
      const properties = {};
      for (const name of ['AllAlpha', 'AllBeta']) {
        properties[name] = { type: 'boolean', description: `Default of every ${name === 'AllAlpha' ? 'alpha' : 'beta'} gate.` };
      }
      for (const g of gateSpecs) {
        properties[g.name] = { type: 'boolean', description: `${g.stage}, default ${g.default}.` };
      }
      return {
        ...base,
        usage: 'Feature gates, Name: true|false (only the gates this sidecar knows, plus AllAlpha/AllBeta).',
        kind: 'map',
        sep: '=',
        value: {},
        text: '',
        gates: gateSpecs,
        schema: { type: 'object', additionalProperties: false, properties },
      };
    }
    default:
      throw new Error(`--${def.name}: no values mapping for flag type ${JSON.stringify(def.typeName)}; teach hack/gen-values.mjs about it`);
  }
}

export async function loadSidecarFlags() {
  const out = [];
  for (const s of SIDECARS) {
    const mod = await import(pathToFileURL(join(repoRoot, 'packages', s.key, 'dist', 'cmd', 'flags.js')).href);
    const defs = Object.values(mod[s.flagsFn]());
    const gates = mod[s.gates];
    const flags = [];
    const managed = [];
    for (const def of defs) {
      if (def.hidden) continue;
      if (CHART_MANAGED_FLAGS[def.name]) {
        managed.push(def.name);
        continue;
      }
      flags.push(describeFlag(def, def.typeName === 'mapStringBool' ? gates : undefined));
    }
    for (const name of Object.keys(CHART_MANAGED_FLAGS)) {
      if (!managed.includes(name)) {
        throw new Error(`${s.program} no longer defines --${name}: update CHART_MANAGED_FLAGS and the templates`);
      }
    }
    out.push({ ...s, flags });
  }
  return out;
}

// ---- values.yaml ----------------------------------------------------------------------------

function yamlScalar(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return '{}';
  return String(v);
}

function valuesBlock(s) {
  const lines = [
    `  # >>> flags of ${s.program}: generated by hack/gen-values.mjs from its flag definitions; do not edit.`,
    '  # Every flag with its Go default; only values that differ from the default reach the command line.',
    '  flags:',
  ];
  for (const f of s.flags) {
    lines.push(`    # --${f.flag}: ${f.usage}`);
    lines.push(`    ${f.key}: ${yamlScalar(f.value)}`);
  }
  lines.push(`  # <<< flags of ${s.program}`);
  return lines.join('\n');
}

function replaceBetween(text, start, end, replacement, file) {
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < 0 || j < i) throw new Error(`${file}: markers ${JSON.stringify(start)} ... ${JSON.stringify(end)} not found`);
  const lineStart = text.lastIndexOf('\n', i) + 1;
  const lineEnd = text.indexOf('\n', j);
  return text.slice(0, lineStart) + replacement + (lineEnd < 0 ? '' : text.slice(lineEnd));
}

function renderValues(current, sidecars) {
  let text = current;
  for (const s of sidecars) {
    text = replaceBetween(text, `# >>> flags of ${s.program}:`, `# <<< flags of ${s.program}`, valuesBlock(s), 'values.yaml');
  }
  return text;
}

// ---- values.schema.json --------------------------------------------------------------------

function renderSchema(current, sidecars) {
  const schema = JSON.parse(current);
  for (const s of sidecars) {
    const block = schema.properties?.[s.key];
    if (!block?.properties) throw new Error(`values.schema.json: properties.${s.key}.properties is missing`);
    const properties = {};
    for (const f of s.flags) {
      properties[f.key] = { ...f.schema, default: f.value, description: `--${f.flag}: ${f.usage}` };
    }
    block.properties.flags = {
      type: 'object',
      description: `Flags of ${s.program} (generated by hack/gen-values.mjs).`,
      additionalProperties: false,
      properties,
    };
  }
  return `${JSON.stringify(schema, null, 2)}\n`;
}

// ---- templates/_flags.tpl ------------------------------------------------------------------

function renderFlagsTpl(sidecars) {
  const parts = [
    '{{- /*',
    'Generated by hack/gen-values.mjs from the sidecars\' flag definitions; do not edit.',
    'One table per sidecar: values key, Go flag name, how the value is printed (kind), the Go',
    'default as printed (a flag is passed only when its value prints differently) and, for maps,',
    'the separator between key and value.',
    '*/ -}}',
  ];
  for (const s of sidecars) {
    const rows = s.flags.map((f) => ({ key: f.key, flag: f.flag, kind: f.kind, default: f.text, ...(f.sep ? { sep: f.sep } : {}) }));
    parts.push('');
    parts.push(`{{- define "csi-sidecars.flagTable.${s.key}" -}}`);
    parts.push(JSON.stringify(rows, null, 0).replace(/\},\{/g, '},\n{'));
    parts.push('{{- end -}}');
  }
  return `${parts.join('\n')}\n`;
}

// ---- README.md -----------------------------------------------------------------------------

function mdCell(v) {
  return String(v).replace(/\|/g, '\\|');
}

function readmeTable(s) {
  const lines = [
    `<!-- >>> flags of ${s.program}: generated by hack/gen-values.mjs; do not edit -->`,
    '',
    '| key | flag | default | description |',
    '|---|---|---|---|',
  ];
  for (const f of s.flags) {
    const def = typeof f.value === 'object' ? '`{}`' : `\`${JSON.stringify(f.value)}\``;
    let desc = f.usage;
    if (f.gates) desc += ` Gates: ${f.gates.map((g) => `${g.name} (${g.stage}, default ${g.default})`).join(', ')}.`;
    lines.push(`| \`${s.key}.flags.${f.key}\` | \`--${f.flag}\` | ${def} | ${mdCell(desc)} |`);
  }
  lines.push('');
  lines.push(`<!-- <<< flags of ${s.program} -->`);
  return lines.join('\n');
}

function renderReadme(current, sidecars) {
  let text = current;
  for (const s of sidecars) {
    text = replaceBetween(text, `<!-- >>> flags of ${s.program}:`, `<!-- <<< flags of ${s.program} -->`, readmeTable(s), 'README.md');
  }
  return text;
}

// ---- main ----------------------------------------------------------------------------------

async function main() {
  const check = process.argv.includes('--check');
  const sidecars = await loadSidecarFlags();
  const files = [
    ['values.yaml', (cur) => renderValues(cur, sidecars)],
    ['values.schema.json', (cur) => renderSchema(cur, sidecars)],
    ['templates/_flags.tpl', () => renderFlagsTpl(sidecars)],
    ['README.md', (cur) => renderReadme(cur, sidecars)],
  ];
  const stale = [];
  for (const [name, render] of files) {
    const path = join(chartDir, name);
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
    const next = render(current);
    if (next === current) continue;
    stale.push(relative(repoRoot, path));
    if (!check) writeFileSync(path, next);
  }
  if (check && stale.length > 0) {
    console.error(`the chart is out of date with the sidecars' flag definitions: ${stale.join(', ')}\nrun: node charts/csi-sidecars/hack/gen-values.mjs`);
    return 1;
  }
  console.error(stale.length === 0 ? 'chart flags are up to date' : `updated ${stale.join(', ')}`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`gen-values: ${err.message}`);
      process.exit(1);
    },
  );
}
