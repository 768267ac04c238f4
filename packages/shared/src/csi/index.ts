// Public API of the CSI area: schema, typed clients, connection, errors, sanitizer, metrics,
// proto comparison and the fake plugin for tests.
export * from './address.js';
export * from './clients.js';
export * from './connection.js';
export * from './connection-loss.js';
export * from './errors.js';
export * from './int64.js';
export * from './metrics.js';
export * from './proto-compare.js';
export * from './proto-path.js';
export * from './proto-root.js';
export * from './response-checks.js';
export * from './sanitize.js';
export * from './schema.js';
export * from './socket-wait.js';
export type * from './types.js';
export * from './unary-caller.js';
export * from './fault-proxy/index.js';
