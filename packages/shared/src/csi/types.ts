// Friendly CSI message types: the generated proto-loader types with every 64-bit integer as
// bigint. They are derived, not written by hand: the generated permissive ("input") type of an
// int64 field is exactly `number | string | Long`, which no other field kind has, so a mapped type
// can find those fields and retype them. Responses keep the exact shape of the generated
// `__Output` types (defaults filled in, messages `| null`, oneof discriminators).
import type { Long, MethodDefinition } from '@grpc/proto-loader';
import type { ControllerDefinition } from './generated/csi/v1/Controller.js';
import type { GroupControllerDefinition } from './generated/csi/v1/GroupController.js';
import type { IdentityDefinition } from './generated/csi/v1/Identity.js';
import type { NodeDefinition } from './generated/csi/v1/Node.js';

import type { CapacityRange, CapacityRange__Output } from './generated/csi/v1/CapacityRange.js';
import type { Snapshot, Snapshot__Output } from './generated/csi/v1/Snapshot.js';
import type { Topology, Topology__Output } from './generated/csi/v1/Topology.js';
import type { TopologyRequirement, TopologyRequirement__Output } from './generated/csi/v1/TopologyRequirement.js';
import type { Volume, Volume__Output } from './generated/csi/v1/Volume.js';
import type { VolumeCapability, VolumeCapability__Output } from './generated/csi/v1/VolumeCapability.js';
import type { VolumeContentSource, VolumeContentSource__Output } from './generated/csi/v1/VolumeContentSource.js';
import type { PluginCapability, PluginCapability__Output } from './generated/csi/v1/PluginCapability.js';
import type {
  ControllerServiceCapability,
  ControllerServiceCapability__Output,
} from './generated/csi/v1/ControllerServiceCapability.js';
import type { NodeServiceCapability, NodeServiceCapability__Output } from './generated/csi/v1/NodeServiceCapability.js';

type Int64Input = number | string | Long;

/** True when T (ignoring null/undefined) is exactly the generated int64 input type. */
type IsInt64<T> = [NonNullable<T>] extends [Int64Input] ? ([Int64Input] extends [NonNullable<T>] ? true : false) : false;

/** A request as our clients take it: the generated input type with int64 fields as bigint. */
export type FriendlyInput<I> =
  IsInt64<I> extends true
    ? bigint
    : I extends readonly (infer E)[]
      ? FriendlyInput<E>[]
      : I extends object
        ? { [K in keyof I]: FriendlyInput<I[K]> }
        : I;

/** A response as our clients return it: the generated output type O, int64 fields (found via I) as bigint. */
export type FriendlyOutput<O, I> =
  IsInt64<I> extends true
    ? bigint
    : O extends readonly (infer OE)[]
      ? FriendlyOutput<OE, NonNullable<I> extends readonly (infer IE)[] ? IE : never>[]
      : O extends object
        ? { [K in keyof O]: FriendlyOutput<O[K], K extends keyof NonNullable<I> ? NonNullable<I>[K] : never> }
        : O;

/** Removes the string index signature grpc.ServiceDefinition adds, leaving the real methods. */
type KnownKeys<T> = { [K in keyof T as string extends K ? never : K]: T[K] };

export interface CsiServiceDefinitions {
  Identity: KnownKeys<IdentityDefinition>;
  Controller: KnownKeys<ControllerDefinition>;
  GroupController: KnownKeys<GroupControllerDefinition>;
  Node: KnownKeys<NodeDefinition>;
}

export type CsiUnaryServiceName = keyof CsiServiceDefinitions;
export type CsiMethodName<S extends CsiUnaryServiceName> = keyof CsiServiceDefinitions[S] & string;

type Def<S extends CsiUnaryServiceName, M extends CsiMethodName<S>> = CsiServiceDefinitions[S][M];

/** What the client sends for S/M (int64 as bigint). */
export type CsiRequest<S extends CsiUnaryServiceName, M extends CsiMethodName<S>> =
  Def<S, M> extends MethodDefinition<infer RI, infer _SI, infer _RO, infer _SO> ? FriendlyInput<RI> : never;

/** What the client receives for S/M (int64 as bigint). */
export type CsiResponse<S extends CsiUnaryServiceName, M extends CsiMethodName<S>> =
  Def<S, M> extends MethodDefinition<infer _RI, infer SI, infer _RO, infer SO> ? FriendlyOutput<SO, SI> : never;

/** What a server (the fake plugin) receives for S/M: decoded, int64 as bigint. */
export type CsiServerRequest<S extends CsiUnaryServiceName, M extends CsiMethodName<S>> =
  Def<S, M> extends MethodDefinition<infer RI, infer _SI, infer RO, infer _SO> ? FriendlyOutput<RO, RI> : never;

/** What a server (the fake plugin) may answer for S/M. */
export type CsiServerResponse<S extends CsiUnaryServiceName, M extends CsiMethodName<S>> =
  Def<S, M> extends MethodDefinition<infer _RI, infer SI, infer _RO, infer _SO> ? FriendlyInput<SI> : never;

// Shorthands for the requests and responses the sidecars use most.
export type IdentityRequest<M extends CsiMethodName<'Identity'>> = CsiRequest<'Identity', M>;
export type IdentityResponse<M extends CsiMethodName<'Identity'>> = CsiResponse<'Identity', M>;
export type ControllerRequest<M extends CsiMethodName<'Controller'>> = CsiRequest<'Controller', M>;
export type ControllerResponse<M extends CsiMethodName<'Controller'>> = CsiResponse<'Controller', M>;
export type NodeRequest<M extends CsiMethodName<'Node'>> = CsiRequest<'Node', M>;
export type NodeResponse<M extends CsiMethodName<'Node'>> = CsiResponse<'Node', M>;

export type CreateVolumeRequest = ControllerRequest<'CreateVolume'>;
export type CreateVolumeResponse = ControllerResponse<'CreateVolume'>;
export type DeleteVolumeRequest = ControllerRequest<'DeleteVolume'>;
export type ControllerPublishVolumeRequest = ControllerRequest<'ControllerPublishVolume'>;
export type ControllerPublishVolumeResponse = ControllerResponse<'ControllerPublishVolume'>;
export type ControllerUnpublishVolumeRequest = ControllerRequest<'ControllerUnpublishVolume'>;
export type ControllerExpandVolumeRequest = ControllerRequest<'ControllerExpandVolume'>;
export type ControllerExpandVolumeResponse = ControllerResponse<'ControllerExpandVolume'>;
export type ControllerModifyVolumeRequest = ControllerRequest<'ControllerModifyVolume'>;
export type ListVolumesRequest = ControllerRequest<'ListVolumes'>;
export type ListVolumesResponse = ControllerResponse<'ListVolumes'>;
export type GetCapacityRequest = ControllerRequest<'GetCapacity'>;
export type GetCapacityResponse = ControllerResponse<'GetCapacity'>;
export type CreateSnapshotRequest = ControllerRequest<'CreateSnapshot'>;
export type CreateSnapshotResponse = ControllerResponse<'CreateSnapshot'>;

// Shared message types, in both directions.
export type CsiVolume = FriendlyOutput<Volume__Output, Volume>;
export type CsiVolumeInput = FriendlyInput<Volume>;
export type CsiSnapshot = FriendlyOutput<Snapshot__Output, Snapshot>;
export type CsiSnapshotInput = FriendlyInput<Snapshot>;
export type CsiCapacityRange = FriendlyOutput<CapacityRange__Output, CapacityRange>;
export type CsiCapacityRangeInput = FriendlyInput<CapacityRange>;
export type CsiTopology = FriendlyOutput<Topology__Output, Topology>;
export type CsiTopologyInput = FriendlyInput<Topology>;
export type CsiTopologyRequirement = FriendlyOutput<TopologyRequirement__Output, TopologyRequirement>;
export type CsiTopologyRequirementInput = FriendlyInput<TopologyRequirement>;
export type CsiVolumeCapability = FriendlyOutput<VolumeCapability__Output, VolumeCapability>;
export type CsiVolumeCapabilityInput = FriendlyInput<VolumeCapability>;
export type CsiVolumeContentSource = FriendlyOutput<VolumeContentSource__Output, VolumeContentSource>;
export type CsiVolumeContentSourceInput = FriendlyInput<VolumeContentSource>;
export type CsiPluginCapability = FriendlyOutput<PluginCapability__Output, PluginCapability>;
export type CsiPluginCapabilityInput = FriendlyInput<PluginCapability>;
export type CsiControllerCapability = FriendlyOutput<ControllerServiceCapability__Output, ControllerServiceCapability>;
export type CsiControllerCapabilityInput = FriendlyInput<ControllerServiceCapability>;
export type CsiNodeCapability = FriendlyOutput<NodeServiceCapability__Output, NodeServiceCapability>;
export type CsiNodeCapabilityInput = FriendlyInput<NodeServiceCapability>;

// Enumerations as string unions (the names, as decoded with enums: String).
export type {
  _csi_v1_VolumeCapability_AccessMode_Mode__Output as AccessModeName,
} from './generated/csi/v1/VolumeCapability.js';
export type {
  _csi_v1_ControllerServiceCapability_RPC_Type__Output as ControllerCapabilityName,
} from './generated/csi/v1/ControllerServiceCapability.js';
export type {
  _csi_v1_PluginCapability_Service_Type__Output as PluginServiceCapabilityName,
  _csi_v1_PluginCapability_VolumeExpansion_Type__Output as VolumeExpansionName,
} from './generated/csi/v1/PluginCapability.js';
export type { _csi_v1_NodeServiceCapability_RPC_Type__Output as NodeCapabilityName } from './generated/csi/v1/NodeServiceCapability.js';
export type {
  _csi_v1_GroupControllerServiceCapability_RPC_Type__Output as GroupControllerCapabilityName,
} from './generated/csi/v1/GroupControllerServiceCapability.js';
