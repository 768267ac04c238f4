export * from './disposable.js';
export * from './clock.js';
export * from './shutdown.js';
export * from './termination-log.js';
export * from './abort-fanout.js';
