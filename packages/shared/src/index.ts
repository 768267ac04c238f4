export * from './lifecycle/disposable.js';
export * from './lifecycle/clock.js';
export * from './logging/logger.js';
