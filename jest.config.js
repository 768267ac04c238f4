// Unit tests: beside the code, under packages/*/src.
import { preset } from './jest.preset.js';

export default {
  ...preset(import.meta.dirname),
  displayName: 'unit',
  testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/bench/src/**/*.test.ts'],
  testTimeout: 20_000,
  maxWorkers: 2,
};
