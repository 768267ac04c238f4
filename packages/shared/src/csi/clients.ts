// Typed promise clients for the CSI services, generated at run time from the schema (one method
// per unary RPC, named in camelCase) and typed from the generated definitions.
import type { CsiServiceName } from './schema.js';
import type { CsiMethodName, CsiRequest, CsiResponse, CsiUnaryServiceName } from './types.js';
import type { CsiCallOptions, CsiUnaryCaller } from './unary-caller.js';

type ClientMethod<S extends CsiUnaryServiceName, M extends CsiMethodName<S>> = [keyof CsiRequest<S, M>] extends [never]
  ? (request?: CsiRequest<S, M>, options?: CsiCallOptions) => Promise<CsiResponse<S, M>>
  : (request: CsiRequest<S, M>, options?: CsiCallOptions) => Promise<CsiResponse<S, M>>;

export type CsiServiceClient<S extends CsiUnaryServiceName> = {
  readonly [M in CsiMethodName<S> as Uncapitalize<M>]: ClientMethod<S, M>;
};

export type IdentityClient = CsiServiceClient<'Identity'>;
export type ControllerClient = CsiServiceClient<'Controller'>;
export type NodeClient = CsiServiceClient<'Node'>;
export type GroupControllerClient = CsiServiceClient<'GroupController'>;

export function createServiceClient<S extends CsiUnaryServiceName>(caller: CsiUnaryCaller, service: S): CsiServiceClient<S> {
  const client: Record<string, unknown> = {};
  for (const method of caller.schema.methods(service as CsiServiceName)) {
    if (method.streaming) continue;
    const key = method.name.charAt(0).toLowerCase() + method.name.slice(1);
    client[key] = (request?: unknown, options?: CsiCallOptions) => caller.call(service, method.name, request, options);
  }
  return Object.freeze(client) as CsiServiceClient<S>;
}
