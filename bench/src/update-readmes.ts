// node bench/dist/update-readmes.js [results.json]: writes a bench run's figures into the
// "Performance (latest bench)" section of packages/{provisioner,attacher,resizer}/README.md.
// Without an argument: the newest full-size run under bench/results.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '@csi-sidecars-ts/e2e/dist/harness/paths.js';
import { updateReadmes, type ResultsFile } from './report/readmes.js';

function newestFullRun(): string | undefined {
  const dir = join(repoRoot, 'bench', 'results');
  if (!existsSync(dir)) return undefined;
  for (const name of readdirSync(dir).sort().reverse()) {
    const file = join(dir, name, 'results.json');
    if (!existsSync(file)) continue;
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
      if (r.meta.scale === 1 && r.meta.durationSeconds > 0) return file;
    } catch {
      // a run still writing, or not a results file
    }
  }
  return undefined;
}

const arg = process.argv[2];
const file = arg ? resolve(arg) : newestFullRun();
if (!file) {
  process.stderr.write('update-readmes: no results.json given and no finished full-size run under bench/results\n');
  process.exit(2);
}
let results: ResultsFile;
try {
  results = JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
  if (!results.meta?.startedAt) throw new Error('no meta.startedAt');
} catch (err) {
  process.stderr.write(`update-readmes: ${file} is not a bench results.json: ${(err as Error).message}\n`);
  process.exit(2);
}
const changed = updateReadmes(repoRoot, results, file);
process.stdout.write(changed.length ? `updated from ${file}:\n${changed.map((f) => `  ${f}`).join('\n')}\n` : `the READMEs already show ${file}\n`);
