// Public API of the CSI fault proxy: rules, the proxy, its control API and command.
export * from './rules.js';
export * from './proxy.js';
export * from './control.js';
export * from './cli.js';
