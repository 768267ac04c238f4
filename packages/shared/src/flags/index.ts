export {
  goQuote,
  parseGoBool,
  parseGoInt,
  parseGoUint,
  parseGoFloat,
  parseGoDuration,
  formatGoDuration,
  formatDurationMs,
  nsToMs,
  msToNs,
} from './go-syntax.js';
export {
  stringFlag,
  enumFlag,
  boolFlag,
  intFlag,
  uintFlag,
  floatFlag,
  durationFlag,
  stringListFlag,
  stringMapFlag,
  quantityFlag,
  customFlag,
} from './definitions.js';
export type {
  FlagDef,
  AnyFlagDef,
  FlagDefs,
  FlagValues,
  SetContext,
  CommonFlagOptions,
  RangeOptions,
  FloatOptions,
  DurationOptions,
  StringMapOptions,
} from './definitions.js';
export {
  FeatureGates,
  featureGatesFlag,
  featureGateHelpLines,
  parseFeatureGatePairs,
  LIBRARY_FEATURE_GATES,
} from './feature-gates.js';
export type { FeatureGateSpec, FeatureStage, FeatureGatesFlagOptions } from './feature-gates.js';
export { parseFlags } from './parser.js';
export type { FlagDialect, ParseOptions, ParseResult } from './parser.js';
export { formatUsage } from './usage.js';
export type { UsageOptions } from './usage.js';
export {
  standardSidecarFlags,
  loggingFlags,
  legacyKlogFlags,
  commonSidecarFlags,
  masterFlag,
  retryIntervalFlags,
  timeoutFlag,
  validateStandardFlags,
  COMPATIBILITY_HELP_NOTE,
} from './common.js';
export type { StandardSidecarValues, VModuleItem } from './common.js';
export { labelKeyProblem, labelValueProblem } from './label-syntax.js';
export {
  runCommand,
  processIO,
  versionLine,
  usageText,
  EXIT_OK,
  EXIT_FAILURE,
  EXIT_USAGE,
} from './command.js';
export type { CommandIO, CommandSpec, RunContext, VersionedFlagDefs } from './command.js';
