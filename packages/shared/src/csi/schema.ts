// The CSI schema at run time: proto-loader's package definition (what grpc-js serializes with)
// and protobufjs reflection of the same file (what our generic walkers read), side by side.
import protoLoader from '@grpc/proto-loader';
import type { MethodDefinition, PackageDefinition, ServiceDefinition } from '@grpc/proto-loader';
import type { Root, Service, Type } from 'protobufjs';
import { csiProtoPath } from './proto-path.js';
import { loadProtoRoot } from './proto-root.js';

export const CSI_PACKAGE = 'csi.v1';

/**
 * Decoding options, the ones democratic-csi and the grpc docs use: field names as in the spec,
 * int64 as decimal strings (converted to bigint by our clients), enums as names, defaults filled
 * in, and a virtual property naming the member set in each oneof.
 */
export const CSI_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export type CsiServiceName = 'Identity' | 'Controller' | 'GroupController' | 'Node' | 'SnapshotMetadata';

export interface CsiMethod {
  readonly service: CsiServiceName;
  /** Method name as in the proto, e.g. `CreateVolume`. */
  readonly name: string;
  /** Full gRPC path, e.g. `/csi.v1.Controller/CreateVolume`. */
  readonly path: string;
  readonly requestType: Type;
  readonly responseType: Type;
  readonly streaming: boolean;
  readonly definition: MethodDefinition<unknown, unknown>;
}

export class CsiSchema {
  readonly #methods = new Map<string, CsiMethod>();

  private constructor(
    readonly protoPath: string,
    readonly root: Root,
    readonly packageDefinition: PackageDefinition,
  ) {}

  static load(protoPath: string = csiProtoPath()): CsiSchema {
    const root = loadProtoRoot(protoPath);
    const packageDefinition = protoLoader.loadSync(protoPath, CSI_LOADER_OPTIONS);
    return new CsiSchema(protoPath, root, packageDefinition);
  }

  /** A message type by short (`Volume`, `VolumeCapability.AccessMode`) or full name. */
  messageType(name: string): Type {
    const full = name.replace(/^\./, '');
    const qualified = full.startsWith(`${CSI_PACKAGE}.`) || full.startsWith('google.') ? full : `${CSI_PACKAGE}.${full}`;
    return this.root.lookupType(qualified);
  }

  service(service: CsiServiceName): Service {
    return this.root.lookupService(`${CSI_PACKAGE}.${service}`);
  }

  serviceDefinition(service: CsiServiceName): ServiceDefinition {
    const def = this.packageDefinition[`${CSI_PACKAGE}.${service}`];
    if (!def || 'format' in def) throw new Error(`CSI schema has no service ${service}`);
    return def as ServiceDefinition;
  }

  methods(service: CsiServiceName): CsiMethod[] {
    return this.service(service).methodsArray.map((m) => this.method(service, m.name));
  }

  method(service: CsiServiceName, name: string): CsiMethod {
    const key = `${service}/${name}`;
    const cached = this.#methods.get(key);
    if (cached) return cached;
    const svc = this.service(service);
    const m = svc.methods[name];
    const definition = this.serviceDefinition(service)[name];
    if (!m || !definition) throw new Error(`CSI service ${service} has no method ${name}`);
    m.resolve();
    const method: CsiMethod = {
      service,
      name,
      path: definition.path,
      requestType: m.resolvedRequestType ?? this.root.lookupType(m.requestType),
      responseType: m.resolvedResponseType ?? this.root.lookupType(m.responseType),
      streaming: Boolean(m.requestStream || m.responseStream),
      definition: definition as MethodDefinition<unknown, unknown>,
    };
    this.#methods.set(key, method);
    return method;
  }
}

let shared: CsiSchema | undefined;

/** The schema of proto/csi.proto, loaded once per process. */
export function csiSchema(): CsiSchema {
  shared ??= CsiSchema.load();
  return shared;
}
