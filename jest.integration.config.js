// Integration tests: e2e/specs against the real local control plane, started once for the run.
import { preset } from './jest.preset.js';

export default {
  ...preset(import.meta.dirname),
  displayName: 'integration',
  testMatch: ['<rootDir>/e2e/specs/**/*.spec.ts'],
  globalSetup: '<rootDir>/e2e/harness/global-setup.ts',
  globalTeardown: '<rootDir>/e2e/harness/global-teardown.ts',
  testTimeout: 180_000,
  // The control plane is shared and the machine has 2 cores: one spec file at a time.
  maxWorkers: 1,
};
