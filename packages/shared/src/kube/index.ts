// Kubernetes API access: kubeconfig, client with QPS/timeouts, errors, patches, and the
// reflector/store/informer stack. See each module's header for the why.
export * from './resources.js';
export * from './object.js';
export * from './errors.js';
export * from './token-bucket.js';
export * from './backoff.js';
export * from './kubeconfig.js';
export * from './transport.js';
// typed-http.ts and typed-api.ts load @kubernetes/client-node: reached through KubeClient.typed() only.
export type { ApiConstructor, TypedApis } from './typed-api.js';
export * from './yaml-subset.js';
export * from './connection.js';
export * from './client.js';
export * from './metrics.js';
export * from './patch.js';
export * from './crud.js';
export * from './retry.js';
export * from './watch-events.js';
export * from './list-watch.js';
export * from './reflector.js';
export * from './store.js';
export * from './informer.js';
export * from './informer-factory.js';
export * from './cache-transform.js';
export * from './list-parse.js';
