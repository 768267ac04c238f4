export { createRegistry, type CreateRegistryOptions } from './registry.js';
