// The CSI schema at run time: protobufjs reflection of proto/csi.proto (what our generic walkers
// read) and, per method, the codec grpc-js calls with. csi.proto is parsed once: the codecs are
// built from the same reflection objects, the way proto-loader builds them (fromObject + encode,
// decode + toObject with CSI_LOADER_OPTIONS). proto-loader's own package definition, which parses
// the file a second time and builds descriptors for every type, is made only when asked for (the
// fake plugin and tests serve with it): start-up pays for one parse, not two.
import { createRequire } from 'node:module';
import type * as ProtoLoader from '@grpc/proto-loader';
import type { PackageDefinition, ServiceDefinition } from '@grpc/proto-loader';
import type { Root, Service, Type } from 'protobufjs';
import { csiProtoPath } from './proto-path.js';
import { loadProtoRoot } from './proto-root.js';

export const CSI_PACKAGE = 'csi.v1';

/**
 * Decoding options, the ones democratic-csi and the grpc docs use: field names as in the spec,
 * int64 as decimal strings (converted to bigint by our clients), enums as names, defaults filled
 * in, and a virtual property naming the member set in each oneof.
 */
export const CSI_LOADER_OPTIONS: ProtoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export type CsiServiceName = 'Identity' | 'Controller' | 'GroupController' | 'Node' | 'SnapshotMetadata';

/** What grpc-js needs to call (or serve) one method: proto-loader's MethodDefinition minus the type descriptors. */
export interface CsiMethodCodec {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly originalName: string;
  requestSerialize(value: unknown): Buffer;
  requestDeserialize(bytes: Buffer): unknown;
  responseSerialize(value: unknown): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
}

/** proto-loader's encoder: a plain object → message → bytes. */
function serializer(type: Type): (value: unknown) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    return Buffer.from(type.encode(type.fromObject(value as Record<string, unknown>)).finish());
  };
}

/** proto-loader's decoder: bytes → message → plain object with the loader options. */
function deserializer(type: Type): (bytes: Buffer) => unknown {
  return (bytes) => type.toObject(type.decode(bytes), CSI_LOADER_OPTIONS);
}

/** proto-loader's originalName: the method name in lowerCamelCase. */
function lowerCamel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

export interface CsiMethod {
  readonly service: CsiServiceName;
  /** Method name as in the proto, e.g. `CreateVolume`. */
  readonly name: string;
  /** Full gRPC path, e.g. `/csi.v1.Controller/CreateVolume`. */
  readonly path: string;
  readonly requestType: Type;
  readonly responseType: Type;
  readonly streaming: boolean;
  readonly definition: CsiMethodCodec;
}

const require = createRequire(import.meta.url);

export class CsiSchema {
  readonly #methods = new Map<string, CsiMethod>();
  #packageDefinition: PackageDefinition | undefined;

  private constructor(
    readonly protoPath: string,
    readonly root: Root,
  ) {}

  static load(protoPath: string = csiProtoPath()): CsiSchema {
    return new CsiSchema(protoPath, loadProtoRoot(protoPath));
  }

  /** proto-loader's package definition of the same file, made on first use (servers, tests). */
  get packageDefinition(): PackageDefinition {
    if (!this.#packageDefinition) {
      const protoLoader = require('@grpc/proto-loader') as typeof ProtoLoader;
      this.#packageDefinition = protoLoader.loadSync(this.protoPath, CSI_LOADER_OPTIONS);
    }
    return this.#packageDefinition;
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
    if (!m) throw new Error(`CSI service ${service} has no method ${name}`);
    m.resolve();
    const requestType = m.resolvedRequestType ?? this.root.lookupType(m.requestType);
    const responseType = m.resolvedResponseType ?? this.root.lookupType(m.responseType);
    const path = `/${CSI_PACKAGE}.${service}/${name}`;
    const method: CsiMethod = {
      service,
      name,
      path,
      requestType,
      responseType,
      streaming: Boolean(m.requestStream || m.responseStream),
      definition: {
        path,
        requestStream: Boolean(m.requestStream),
        responseStream: Boolean(m.responseStream),
        originalName: lowerCamel(name),
        requestSerialize: serializer(requestType),
        requestDeserialize: deserializer(requestType),
        responseSerialize: serializer(responseType),
        responseDeserialize: deserializer(responseType),
      },
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
