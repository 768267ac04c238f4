export * from './translator.js';
export * from './topology.js';
