// Which secrets a StorageClass names for each CSI operation, resolved for one claim. Only
// references are computed here; the provisioner secret is fetched by the caller.

import { CSI_PARAMETER_PREFIX } from './constants.js';
import { isDns1123Label, isDns1123Subdomain, resolveTemplate, TemplateError } from './template.js';

export interface SecretParams {
  /** For error messages, e.g. "Provisioner". */
  readonly name: string;
  readonly nameKey: string;
  readonly namespaceKey: string;
  /** Pre-CSI-prefix keys still honoured (and kept in the parameters). */
  readonly deprecatedNameKey?: string;
  readonly deprecatedNamespaceKey?: string;
}

const p = (suffix: string) => `${CSI_PARAMETER_PREFIX}${suffix}`;

export const DEFAULT_SECRET: SecretParams = { name: 'Default', nameKey: p('secret-name'), namespaceKey: p('secret-namespace') };
export const PROVISIONER_SECRET: SecretParams = {
  name: 'Provisioner',
  nameKey: p('provisioner-secret-name'),
  namespaceKey: p('provisioner-secret-namespace'),
  deprecatedNameKey: 'csiProvisionerSecretName',
  deprecatedNamespaceKey: 'csiProvisionerSecretNamespace',
};
export const CONTROLLER_PUBLISH_SECRET: SecretParams = {
  name: 'ControllerPublish',
  nameKey: p('controller-publish-secret-name'),
  namespaceKey: p('controller-publish-secret-namespace'),
  deprecatedNameKey: 'csiControllerPublishSecretName',
  deprecatedNamespaceKey: 'csiControllerPublishSecretNamespace',
};
export const NODE_STAGE_SECRET: SecretParams = {
  name: 'NodeStage',
  nameKey: p('node-stage-secret-name'),
  namespaceKey: p('node-stage-secret-namespace'),
  deprecatedNameKey: 'csiNodeStageSecretName',
  deprecatedNamespaceKey: 'csiNodeStageSecretNamespace',
};
export const NODE_PUBLISH_SECRET: SecretParams = {
  name: 'NodePublish',
  nameKey: p('node-publish-secret-name'),
  namespaceKey: p('node-publish-secret-namespace'),
  deprecatedNameKey: 'csiNodePublishSecretName',
  deprecatedNamespaceKey: 'csiNodePublishSecretNamespace',
};
export const CONTROLLER_EXPAND_SECRET: SecretParams = {
  name: 'ControllerExpand',
  nameKey: p('controller-expand-secret-name'),
  namespaceKey: p('controller-expand-secret-namespace'),
};
export const NODE_EXPAND_SECRET: SecretParams = {
  name: 'NodeExpand',
  nameKey: p('node-expand-secret-name'),
  namespaceKey: p('node-expand-secret-namespace'),
};
export const CONTROLLER_MODIFY_SECRET: SecretParams = {
  name: 'ControllerModify',
  nameKey: p('controller-modify-secret-name'),
  namespaceKey: p('controller-modify-secret-namespace'),
};

export const ALL_SECRET_PARAMS: readonly SecretParams[] = [
  DEFAULT_SECRET,
  PROVISIONER_SECRET,
  CONTROLLER_PUBLISH_SECRET,
  NODE_STAGE_SECRET,
  NODE_PUBLISH_SECRET,
  CONTROLLER_EXPAND_SECRET,
  NODE_EXPAND_SECRET,
  CONTROLLER_MODIFY_SECRET,
];

export interface SecretReference {
  name: string;
  namespace: string;
}

export class SecretParameterError extends Error {
  override readonly name = 'SecretParameterError';
}

type Params = Readonly<Record<string, string>>;

function has(params: Params, key: string | undefined): key is string {
  return key !== undefined && Object.prototype.hasOwnProperty.call(params, key);
}

/** The name and namespace templates for one secret kind; undefined when none is configured. */
export function secretTemplates(secret: SecretParams, params: Params): { name: string; namespace: string } | undefined {
  let name = '';
  let namespace = '';
  let numName = 0;
  let numNamespace = 0;
  if (has(params, secret.deprecatedNameKey)) {
    name = params[secret.deprecatedNameKey]!;
    numName++;
  }
  if (has(params, secret.deprecatedNamespaceKey)) {
    namespace = params[secret.deprecatedNamespaceKey]!;
    numNamespace++;
  }
  if (has(params, secret.nameKey)) {
    name = params[secret.nameKey]!;
    numName++;
  }
  if (has(params, secret.namespaceKey)) {
    namespace = params[secret.namespaceKey]!;
    numNamespace++;
  }
  if (numName > 1 || numNamespace > 1) {
    throw new SecretParameterError(`${secret.name} secrets specified in parameters with both "csi" and "${CSI_PARAMETER_PREFIX}" keys`);
  }
  if (numName !== numNamespace) {
    throw new SecretParameterError(`either name and namespace for ${secret.name} secrets specified, Both must be specified`);
  }
  if (numName === 0) return undefined;
  if (name === '' || namespace === '') {
    throw new SecretParameterError(`${secret.name} secrets specified in parameters but value of either namespace or name is empty`);
  }
  return { name, namespace };
}

/** What templates may refer to (claim fields are absent when deleting a PV without claimRef). */
export interface SecretTemplateContext {
  pvName: string;
  claim?: { name?: string; namespace?: string; annotations?: Readonly<Record<string, string>> };
}

/**
 * The secret for one operation: its own keys, else the default `csi.storage.k8s.io/secret-*`
 * pair; undefined when neither is configured. Namespace templates may use ${pv.name} and
 * ${pvc.namespace}; name templates also ${pvc.name} and ${pvc.annotations['KEY']} (user-controlled,
 * hence the stricter DNS validation of the result).
 */
export function secretReference(secret: SecretParams, params: Params, ctx: SecretTemplateContext): SecretReference | undefined {
  let templates: { name: string; namespace: string } | undefined;
  try {
    templates = secretTemplates(secret, params);
  } catch (err) {
    throw new SecretParameterError(`failed to get name and namespace template from params: ${(err as Error).message}`);
  }
  if (!templates) {
    try {
      templates = secretTemplates(DEFAULT_SECRET, params);
    } catch (err) {
      throw new SecretParameterError(`failed to get default name and namespace template from params: ${(err as Error).message}`);
    }
  }
  if (!templates) return undefined;

  const nsParams = new Map<string, string>([['pv.name', ctx.pvName]]);
  if (ctx.claim) nsParams.set('pvc.namespace', ctx.claim.namespace ?? '');
  const namespace = resolveOrThrow(templates.namespace, nsParams);
  if (!isDns1123Label(namespace)) {
    throw new SecretParameterError(
      templates.namespace !== namespace
        ? `${quoted(templates.namespace)} resolved to ${quoted(namespace)} which is not a valid namespace name`
        : `${quoted(templates.namespace)} is not a valid namespace name`,
    );
  }

  const nameParams = new Map<string, string>([['pv.name', ctx.pvName]]);
  if (ctx.claim) {
    nameParams.set('pvc.name', ctx.claim.name ?? '');
    nameParams.set('pvc.namespace', ctx.claim.namespace ?? '');
    for (const [k, v] of Object.entries(ctx.claim.annotations ?? {})) nameParams.set(`pvc.annotations['${k}']`, v);
  }
  const name = resolveOrThrow(templates.name, nameParams);
  if (!isDns1123Subdomain(name)) {
    throw new SecretParameterError(
      templates.name !== name
        ? `${quoted(templates.name)} resolved to ${quoted(name)} which is not a valid secret name`
        : `${quoted(templates.name)} is not a valid secret name`,
    );
  }
  return { name, namespace };
}

/**
 * A value quoted for an error message. A value longer than any valid name (253) is cut: an event
 * message is cut at 1024 characters, and a huge annotation resolved into a name would otherwise
 * push the reason ("which is not a valid secret name") out of it.
 */
function quoted(value: string): string {
  return value.length <= 253 ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, 64))}... (${value.length} characters)`;
}

function resolveOrThrow(template: string, params: ReadonlyMap<string, string>): string {
  try {
    return resolveTemplate(template, params);
  } catch (err) {
    if (err instanceof TemplateError) throw new SecretParameterError(`error resolving value ${quoted(template)}: ${err.message}`);
    throw err;
  }
}
