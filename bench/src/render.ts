// node bench/dist/render.js <results.json> <out.md>: the markdown report of a finished run,
// rendered again from its results.json with today's report code and targets (e.g. the rate-limit
// floor and the idle-memory section for a run made before they existed).
import { readFileSync, writeFileSync } from 'node:fs';
import { TARGETS } from './catalogue.js';
import { renderMarkdown, type ReportMeta } from './report/markdown.js';
import { aggregate, type CeilingRecord, type RunRecord, type SkipRecord } from './report/model.js';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node bench/dist/render.js <results.json> <out.md>\n');
  process.exit(2);
}
let results: { meta: ReportMeta; runs?: RunRecord[]; skips?: SkipRecord[]; ceiling?: CeilingRecord };
try {
  results = JSON.parse(readFileSync(input, 'utf8')) as typeof results;
  if (!results.meta?.startedAt || !Array.isArray(results.runs)) throw new Error('no meta.startedAt or runs');
} catch (err) {
  process.stderr.write(`render: ${input} is not a bench results.json: ${(err as Error).message}\n`);
  process.exit(2);
}
const runs = results.runs;
writeFileSync(output, renderMarkdown(results.meta, aggregate(runs, TARGETS), results.skips ?? [], results.ceiling, runs));
process.stdout.write(`${output}\n`);
