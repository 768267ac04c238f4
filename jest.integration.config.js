// Integration tests: e2e/specs against the real local control plane, started once for the run.
// The global set-up runs from the compiled harness (e2e/dist): jest loads it outside its module
// system, where the .ts sources could not be resolved; `npm test` builds first.
import { preset } from './jest.preset.js';

export default {
  ...preset(import.meta.dirname),
  displayName: 'integration',
  testMatch: ['<rootDir>/e2e/specs/**/*.spec.ts'],
  globalSetup: '<rootDir>/e2e/dist/harness/global-setup.js',
  globalTeardown: '<rootDir>/e2e/dist/harness/global-teardown.js',
  testTimeout: 180_000,
  // The control plane is shared and the machine has 2 cores: one spec file at a time.
  maxWorkers: 1,
};
