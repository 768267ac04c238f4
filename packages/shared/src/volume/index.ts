export * from './access-modes.js';
