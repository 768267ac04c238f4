// --feature-gates: `Name=bool,...` pairs checked against the gates a sidecar knows, with
// component-base's rules: AllAlpha/AllBeta as defaults for their stage, per-gate values win,
// locked gates refuse other values, GA/deprecated gates warn when set.

import type { FlagDef, SetContext } from './definitions.js';
import { goQuote, parseGoBool } from './go-syntax.js';

export type FeatureStage = 'ALPHA' | 'BETA' | 'GA' | 'DEPRECATED';

export interface FeatureGateSpec {
  readonly name: string;
  readonly default: boolean;
  readonly stage: FeatureStage;
  /** GA gates that can no longer be turned off. */
  readonly lockToDefault?: boolean;
}

const ALL_ALPHA = 'AllAlpha';
const ALL_BETA = 'AllBeta';

/**
 * Gates of k8s.io/apiserver v0.36 that the Go sidecars also accept (they link that library) but
 * that mean nothing to a sidecar. Accepted with a warning so Go command lines keep working.
 */
export const LIBRARY_FEATURE_GATES: readonly string[] = [
  'APIResponseCompression', 'APIServerIdentity', 'APIServerTracing', 'APIServingWithRoutine',
  'AggregatedDiscoveryRemoveBetaType', 'AllowParsingUserUIDFromCertAuth', 'AllowUnsafeMalformedObjectDeletion',
  'AnonymousAuthConfigurableEndpoints', 'AuthorizeWithSelectors', 'BtreeWatchCache', 'CBORServingAndStorage',
  'ComponentFlagz', 'ComponentStatusz', 'ConcurrentWatchObjectDecode', 'ConsistentListFromCache',
  'ConstrainedImpersonation', 'CoordinatedLeaderElection', 'DeclarativeValidation', 'DeclarativeValidationBeta',
  'DeclarativeValidationTakeover', 'DetectCacheInconsistency', 'KMSv1', 'ListFromCacheSnapshot',
  'ManifestBasedAdmissionControlConfig', 'MutatingAdmissionPolicy', 'OpenAPIEnums', 'RemoteRequestHeaderUID',
  'ResilientWatchCacheInitialization', 'RetryGenerateName', 'SeparateCacheWatchRPC', 'ShardedListAndWatch',
  'SizeBasedListCostEstimate', 'StorageVersionAPI', 'StorageVersionHash', 'StreamingCollectionEncodingToJSON',
  'StreamingCollectionEncodingToProtobuf', 'StructuredAuthenticationConfiguration',
  'StructuredAuthenticationConfigurationEgressSelector', 'StructuredAuthenticationConfigurationJWKSMetrics',
  'TokenRequestServiceAccountUIDValidation', 'UnauthenticatedHTTP2DOSMitigation',
  'UnknownVersionInteroperabilityProxy', 'WatchCacheInitializationPostStartHook', 'WatchList',
];

/** The effective gate values of one sidecar: known specs plus what the command line set. */
export class FeatureGates {
  readonly #specs: ReadonlyMap<string, FeatureGateSpec>;
  readonly #explicit: ReadonlyMap<string, boolean>;
  readonly #overrides: ReadonlyMap<string, boolean>;

  constructor(
    specs: readonly FeatureGateSpec[],
    explicit: ReadonlyMap<string, boolean> = new Map(),
    overrides: ReadonlyMap<string, boolean> = new Map(),
  ) {
    this.#specs = new Map(specs.map((s) => [s.name, s]));
    this.#explicit = explicit;
    this.#overrides = overrides;
  }

  /** Whether a gate is on. Asking for a gate the sidecar does not define is a programming error. */
  enabled(name: string): boolean {
    const spec = this.#specs.get(name);
    if (!spec) throw new Error(`unknown feature gate ${goQuote(name)}`);
    const explicit = this.#explicit.get(name);
    if (explicit !== undefined) return explicit;
    const override = this.#overrides.get(name);
    if (override !== undefined) return override;
    if (spec.stage === 'ALPHA' && this.#explicit.has(ALL_ALPHA)) return this.#explicit.get(ALL_ALPHA)!;
    if (spec.stage === 'BETA' && this.#explicit.has(ALL_BETA)) return this.#explicit.get(ALL_BETA)!;
    return spec.default;
  }

  /** True when the command line named this gate (start-up code must then not second-guess it). */
  isExplicitlySet(name: string): boolean {
    return this.#explicit.has(name);
  }

  /**
   * A copy where a gate not set on the command line gets a different effective value, e.g.
   * VolumeAttributesClass turned off when the API server does not serve it. Explicit settings win.
   */
  withDefault(name: string, value: boolean): FeatureGates {
    if (!this.#specs.has(name)) throw new Error(`unknown feature gate ${goQuote(name)}`);
    return new FeatureGates([...this.#specs.values()], this.#explicit, new Map([...this.#overrides, [name, value]]));
  }

  /** Adds `name=value` pairs parsed from the command line; returns the new set. */
  withExplicit(pairs: ReadonlyMap<string, boolean>): FeatureGates {
    return new FeatureGates([...this.#specs.values()], new Map([...this.#explicit, ...pairs]), this.#overrides);
  }

  specs(): FeatureGateSpec[] {
    return [...this.#specs.values()];
  }

  /** "Name=true,Other=false" for every defined gate, sorted (for logs). */
  toString(): string {
    return [...this.#specs.keys()]
      .sort()
      .map((n) => `${n}=${this.enabled(n)}`)
      .join(',');
  }
}

/** The gate list shown in --feature-gates help; GA and deprecated gates are left out, as Go does. */
export function featureGateHelpLines(specs: readonly FeatureGateSpec[]): string[] {
  const lines = [`${ALL_ALPHA}=true|false (ALPHA - default=false)`, `${ALL_BETA}=true|false (BETA - default=false)`];
  for (const s of specs) {
    if (s.stage === 'GA' || s.stage === 'DEPRECATED') continue;
    lines.push(`${s.name}=true|false (${s.stage} - default=${s.default})`);
  }
  return lines.sort();
}

/** Splits `A=true,B=false` like component-base: spaces trimmed, empty items skipped. */
export function parseFeatureGatePairs(raw: string): Map<string, boolean> {
  const pairs = new Map<string, boolean>();
  for (const item of raw.split(',')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) throw new Error(`malformed pair ${goQuote(item)}, expect string=bool`);
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    try {
      pairs.set(key, parseGoBool(value));
    } catch {
      throw new Error(`invalid value of ${key}: ${value}, want true or false`);
    }
  }
  return pairs;
}

function checkGate(specs: ReadonlyMap<string, FeatureGateSpec>, name: string, value: boolean, ctx: SetContext): boolean {
  if (name === ALL_ALPHA || name === ALL_BETA) return true;
  const spec = specs.get(name);
  if (!spec) {
    if (LIBRARY_FEATURE_GATES.includes(name)) {
      ctx.warn(`Feature gate ${name}=${value} belongs to the Kubernetes API server library and has no effect on this sidecar`);
      return false;
    }
    throw new Error(`unrecognized feature gate: ${name}`);
  }
  if (spec.lockToDefault && spec.default !== value) {
    throw new Error(`cannot set feature gate ${name} to ${value}, feature is locked to ${spec.default}`);
  }
  if (spec.stage === 'GA') ctx.warn(`Setting GA feature gate ${name}=${value}. It will be removed in a future release.`);
  if (spec.stage === 'DEPRECATED') {
    ctx.warn(`Setting deprecated feature gate ${name}=${value}. It will be removed in a future release.`);
  }
  return true;
}

export interface FeatureGatesFlagOptions {
  name?: string;
  usage?: string;
}

/** The --feature-gates flag for a sidecar's gate specs; repeated flags accumulate. */
export function featureGatesFlag(specs: readonly FeatureGateSpec[], opts: FeatureGatesFlagOptions = {}): FlagDef<FeatureGates> {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const usage =
    opts.usage ??
    'Comma-separated key=value pairs that turn feature gates on or off. Gates:\n' + featureGateHelpLines(specs).join('\n');
  return {
    name: opts.name ?? 'feature-gates',
    usage,
    isBool: false,
    typeName: 'mapStringBool',
    goTypeName: 'value',
    defaultText: undefined,
    quoteDefault: false,
    initial: () => new FeatureGates(specs),
    set: (raw, current, ctx) => {
      const accepted = new Map<string, boolean>();
      for (const [name, value] of parseFeatureGatePairs(raw)) {
        if (checkGate(byName, name, value, ctx)) accepted.set(name, value);
      }
      return current.withExplicit(accepted);
    },
  };
}
