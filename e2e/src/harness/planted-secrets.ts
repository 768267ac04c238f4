// Every secret value an integration spec plants in the cluster is recorded, so the run can prove
// at its end that none of them ever reached a log line (global-teardown.ts → secret-scan.ts).
// Specs create CSI secrets through plantSecret() instead of the API directly. Values must be long
// and distinctive: a short one ("p", "admin") would match unrelated log text.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterInfo } from './cluster-env.js';
import type { Kube } from './kube.js';

export const PLANTED_SECRETS_FILE = 'planted-secrets.jsonl';
/** Shorter values could match ordinary log text by chance. */
export const MIN_PLANTED_LENGTH = 8;

export interface PlantedValue {
  value: string;
  /** namespace/name:key of the Secret it was planted in. */
  source: string;
}

/** A fresh, distinctive secret value (greppable, unique per call). */
export function secretValue(label = 'secret'): string {
  return `${label}-${randomBytes(8).toString('hex')}`;
}

/** Appends the values of one Secret to the run's record in `workDir`. */
export function recordPlanted(workDir: string, namespace: string, name: string, data: Record<string, string>): void {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (value.length < MIN_PLANTED_LENGTH) {
      throw new Error(`secret ${namespace}/${name} key ${key}: planted values must be at least ${MIN_PLANTED_LENGTH} characters (use secretValue()), got ${value.length}`);
    }
    lines.push(JSON.stringify({ value, source: `${namespace}/${name}:${key}` } satisfies PlantedValue));
  }
  if (lines.length > 0) appendFileSync(join(workDir, PLANTED_SECRETS_FILE), `${lines.join('\n')}\n`);
}

export function readPlanted(workDir: string): PlantedValue[] {
  const file = join(workDir, PLANTED_SECRETS_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as PlantedValue);
}

/**
 * Creates (or, with `replace`, overwrites) a Secret and records its values for the end-of-run
 * log check. The record is written first: a value must be checked even if the create fails
 * half-way.
 */
export async function plantSecret(
  kube: Kube,
  namespace: string,
  name: string,
  data: Record<string, string>,
  opts: { replace?: boolean; workDir?: string } = {},
): Promise<void> {
  recordPlanted(opts.workDir ?? clusterInfo().workDir, namespace, name, data);
  const body = { metadata: { name }, stringData: data };
  if (opts.replace) await kube.core.replaceNamespacedSecret({ name, namespace, body });
  else await kube.core.createNamespacedSecret({ namespace, body });
}
