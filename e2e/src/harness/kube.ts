// The harness's own thin access to the API server (set-up and assertions), straight on
// @kubernetes/client-node so that it does not depend on the code under test.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  StorageV1Api,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}

export class Kube {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly storage: StorageV1Api;
  readonly apiext: ApiextensionsV1Api;
  readonly objects: KubernetesObjectApi;

  constructor(readonly kubeconfigPath: string) {
    this.kc = new KubeConfig();
    this.kc.loadFromFile(kubeconfigPath);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.storage = this.kc.makeApiClient(StorageV1Api);
    this.apiext = this.kc.makeApiClient(ApiextensionsV1Api);
    this.objects = KubernetesObjectApi.makeApiClient(this.kc);
  }

  async namespaceExists(name: string): Promise<boolean> {
    try {
      await this.core.readNamespace({ name });
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw err;
    }
  }

  async ensureCsiDriver(name: string, spec: Record<string, unknown> = {}): Promise<void> {
    try {
      await this.storage.createCSIDriver({
        body: {
          metadata: { name },
          spec: { attachRequired: true, podInfoOnMount: false, volumeLifecycleModes: ['Persistent'], ...spec },
        },
      });
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
    }
  }

  /** Creates every CRD in a folder of YAML files (those passing `filter`) and waits until served. */
  async applyCrdsFrom(dir: string, filter: (file: string) => boolean): Promise<string[]> {
    const names: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml') && filter(f))) {
      for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
        const obj = doc.toJS() as KubernetesObject | null;
        if (!obj || obj.kind !== 'CustomResourceDefinition') continue;
        try {
          await this.objects.create(obj);
        } catch (err) {
          if (statusCode(err) !== 409) throw err;
        }
        names.push(obj.metadata!.name!);
      }
    }
    for (const name of names) {
      for (let i = 0; i < 100; i++) {
        const crd = await this.apiext.readCustomResourceDefinition({ name });
        if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return names;
  }
}
