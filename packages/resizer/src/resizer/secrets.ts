// Reading the credentials a CSI call carries: a Secret's data, base64-decoded into strings.

import type { Secret } from '@csi-sidecars-ts/shared';

/** Fetches a Secret; production uses a direct GET (as the Go resizer does), tests a map. */
export interface SecretSource {
  getSecret(namespace: string, name: string): Promise<Secret>;
}

export class SecretFetchError extends Error {
  override readonly name = 'SecretFetchError';
}

export async function readSecretData(source: SecretSource, namespace: string, name: string): Promise<Record<string, string>> {
  let secret: Secret;
  try {
    secret = await source.getSecret(namespace, name);
  } catch (err) {
    throw new SecretFetchError(`error getting secret ${name} in namespace ${namespace}: ${(err as Error).message ?? String(err)}`, { cause: err });
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    out[key] = Buffer.from(String(value), 'base64').toString('utf8');
  }
  return out;
}
