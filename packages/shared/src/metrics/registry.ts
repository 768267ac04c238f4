// One explicit prom-client Registry per process (or per test). The global `register` is never
// used: registering the same metric name twice on it throws, which breaks tests and reloads.
import { Registry, collectDefaultMetrics } from 'prom-client';

export interface CreateRegistryOptions {
  /** Register process_* and nodejs_* metrics (the counterpart of Go's process_* / go_*). Default true. */
  collectDefault?: boolean;
}

export function createRegistry(opts: CreateRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (opts.collectDefault ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}
