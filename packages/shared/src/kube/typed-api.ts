// client-node's generated API classes (CoreV1Api, StorageV1Api, …) on our transport. Loaded only
// through KubeClient.typed(): importing client-node costs ~75 MiB of RSS and ~0.7 s, which the
// sidecars do not pay (they use raw requests); tests and tools that want typed calls do.

import { CoordinationV1Api, CoreV1Api, ServerConfiguration, StorageV1Api, createConfiguration } from '@kubernetes/client-node';
import type { Configuration } from '@kubernetes/client-node';
import type { KubeTransport } from './transport.js';
import { transportHttpLibrary } from './typed-http.js';

export type ApiConstructor<T> = new (configuration: Configuration) => T;

export interface TypedApis {
  readonly core: CoreV1Api;
  readonly storage: StorageV1Api;
  readonly coordination: CoordinationV1Api;
  /** Any other generated client-node API class, on the same transport. */
  api<T>(ctor: ApiConstructor<T>): T;
}

export function typedApis(transport: KubeTransport, server: string): TypedApis {
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(server.replace(/\/$/, ''), {}),
    httpApi: transportHttpLibrary(transport),
    // No auth methods: the transport applies the kubeconfig's credentials to every request.
  });
  const api = <T>(ctor: ApiConstructor<T>): T => new ctor(configuration);
  return { core: api(CoreV1Api), storage: api(StorageV1Api), coordination: api(CoordinationV1Api), api };
}
