// The end-of-run check that no planted secret value (planted-secrets.ts) appears in any log file
// of the run, as it is or base64-encoded (how a Secret's data travels). Only log files are read:
// etcd's data holds the secrets by design.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readPlanted, type PlantedValue } from './planted-secrets.js';

export interface SecretHit {
  file: string;
  /** 1-based. */
  line: number;
  source: string;
  encoding: 'plain' | 'base64';
}

/** Every file under `dir` (recursively) whose name ends in .log, or any file under a `logs` folder. */
export function logFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, inLogs: boolean) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p, inLogs || n === 'logs');
      else if (st.isFile() && (inLogs || n.endsWith('.log'))) out.push(p);
    }
  };
  walk(dir, false);
  return out.sort();
}

export function scanForSecrets(files: readonly string[], planted: readonly PlantedValue[]): SecretHit[] {
  const needles = planted.flatMap((p) => [
    { text: p.value, source: p.source, encoding: 'plain' as const },
    { text: Buffer.from(p.value).toString('base64'), source: p.source, encoding: 'base64' as const },
  ]);
  if (needles.length === 0) return [];
  const hits: SecretHit[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    if (!needles.some((n) => text.includes(n.text))) continue;
    const lines = text.split('\n');
    lines.forEach((l, i) => {
      for (const n of needles) if (l.includes(n.text)) hits.push({ file, line: i + 1, source: n.source, encoding: n.encoding });
    });
  }
  return hits;
}

/** One line per hit, naming the file (relative to `root`), the line and the Secret; never the value. */
export function describeHits(hits: readonly SecretHit[], root: string): string {
  return hits.map((h) => `${relative(root, h.file)}:${h.line}: value of secret ${h.source}${h.encoding === 'base64' ? ' (base64)' : ''}`).join('\n');
}

/** The check over one run's working folder: every value planted there against every log file. */
export function checkRunLogs(workDir: string): { planted: PlantedValue[]; files: string[]; hits: SecretHit[] } {
  const planted = readPlanted(workDir);
  const files = logFiles(workDir);
  return { planted, files, hits: scanForSecrets(files, planted) };
}

export function secretsFoundMessage(workDir: string, hits: readonly SecretHit[]): string {
  return `${hits.length} planted secret value(s) found in the logs of the run (kept in ${workDir}):\n${describeHits(hits, workDir)}`;
}
