// Shared jest settings: TypeScript through @swc/jest in native ESM mode (the dependencies are
// ESM-only), source files imported directly so tests need no build step.
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2023', keepClassNames: true },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

export function preset(rootDir) {
  return {
    rootDir,
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    transform: { '^.+\\.ts$': swc },
    moduleNameMapper: {
      '^@csi-sidecars-ts/(shared|provisioner|attacher|resizer)$': '<rootDir>/packages/$1/src/index.ts',
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    // Jest's haste map must not index the Go caches or build output.
    modulePathIgnorePatterns: ['<rootDir>/packages/.*/dist/', '<rootDir>/.e2e-tmp/'],
    watchman: false,
  };
}
