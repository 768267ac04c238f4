// The fake plugin's default controller behaviour: an in-memory volume store that follows the
// CSI spec's rules closely enough for sidecar tests (idempotency, error codes, paging).
import { GrpcCode } from '../errors.js';
import type {
  AccessModeName,
  CsiMethodName,
  CsiServerRequest,
  CsiServerResponse,
  CsiTopology,
  CsiTopologyInput,
  CsiVolumeContentSource,
} from '../types.js';
import { grpcStatus } from './grpc-status.js';

type Req<M extends CsiMethodName<'Controller'>> = CsiServerRequest<'Controller', M>;
type Res<M extends CsiMethodName<'Controller'>> = CsiServerResponse<'Controller', M>;

export const GiB = 1024n ** 3n;

export interface FakePublication {
  readonly nodeId: string;
  readonly readonly: boolean;
  readonly publishContext: Record<string, string>;
}

export interface FakeVolume {
  readonly volumeId: string;
  readonly name: string;
  capacityBytes: bigint;
  readonly parameters: Record<string, string>;
  mutableParameters: Record<string, string>;
  readonly volumeContext: Record<string, string>;
  readonly contentSource: CsiVolumeContentSource | null;
  readonly accessibleTopology: CsiTopology[];
  readonly accessModes: AccessModeName[];
  readonly publications: Map<string, FakePublication>;
}

export interface FakeVolumeStoreOptions {
  /** Total capacity; GetCapacity reports what volumes have not used. Default 1 TiB. */
  totalCapacity?: bigint;
  /** GetCapacity.maximum_volume_size; also enforced by CreateVolume. Default: unset. */
  maximumVolumeSize?: bigint;
  /** Size of a volume created without a capacity range. Default 1 GiB. */
  defaultVolumeSize?: bigint;
  /** ControllerExpandVolume's node_expansion_required. Default true. */
  nodeExpansionRequired?: boolean;
  /** Volumes per node before ControllerPublishVolume answers RESOURCE_EXHAUSTED. Default unlimited. */
  maxVolumesPerNode?: number;
  /** When set, ControllerPublishVolume answers NOT_FOUND for other nodes. */
  knownNodes?: readonly string[];
}

function nodesOf(v: FakeVolume): string {
  return [...v.publications.keys()].join(', ');
}

function segmentsOf(t: CsiTopologyInput | undefined): Record<string, string> {
  return { ...(t?.segments ?? {}) };
}

export class FakeVolumeStore {
  readonly #volumes = new Map<string, FakeVolume>();
  readonly #byName = new Map<string, string>();
  readonly #opts: FakeVolumeStoreOptions;
  #seq = 0;

  constructor(options: FakeVolumeStoreOptions = {}) {
    this.#opts = options;
  }

  get size(): number {
    return this.#volumes.size;
  }

  get(volumeId: string): FakeVolume | undefined {
    return this.#volumes.get(volumeId);
  }

  byName(name: string): FakeVolume | undefined {
    const id = this.#byName.get(name);
    return id === undefined ? undefined : this.#volumes.get(id);
  }

  all(): FakeVolume[] {
    return [...this.#volumes.values()];
  }

  get usedCapacity(): bigint {
    let used = 0n;
    for (const v of this.#volumes.values()) used += v.capacityBytes;
    return used;
  }

  get availableCapacity(): bigint {
    const left = (this.#opts.totalCapacity ?? 1024n * GiB) - this.usedCapacity;
    return left > 0n ? left : 0n;
  }

  /** Adds a volume directly (test setup), bypassing CreateVolume's checks. */
  seed(volume: { name?: string; volumeId?: string; capacityBytes?: bigint; publishedTo?: string[] }): FakeVolume {
    const volumeId = volume.volumeId ?? this.#nextId();
    const v: FakeVolume = {
      volumeId,
      name: volume.name ?? volumeId,
      capacityBytes: volume.capacityBytes ?? this.#opts.defaultVolumeSize ?? GiB,
      parameters: {},
      mutableParameters: {},
      volumeContext: {},
      contentSource: null,
      accessibleTopology: [],
      accessModes: ['SINGLE_NODE_WRITER'],
      publications: new Map(),
    };
    for (const nodeId of volume.publishedTo ?? []) v.publications.set(nodeId, { nodeId, readonly: false, publishContext: {} });
    this.#volumes.set(volumeId, v);
    this.#byName.set(v.name, volumeId);
    return v;
  }

  createVolume(req: Req<'CreateVolume'>): Res<'CreateVolume'> {
    if (!req.name) throw grpcStatus(GrpcCode.InvalidArgument, 'name is required');
    if (req.volume_capabilities.length === 0) throw grpcStatus(GrpcCode.InvalidArgument, 'volume_capabilities are required');
    const required = req.capacity_range?.required_bytes ?? 0n;
    const limit = req.capacity_range?.limit_bytes ?? 0n;
    if (required < 0n || limit < 0n) throw grpcStatus(GrpcCode.InvalidArgument, 'capacity_range must not be negative');
    if (limit > 0n && required > limit) {
      throw grpcStatus(GrpcCode.InvalidArgument, `required_bytes ${required} exceeds limit_bytes ${limit}`);
    }

    const existing = this.byName(req.name);
    if (existing) {
      if (existing.capacityBytes < required || (limit > 0n && existing.capacityBytes > limit)) {
        throw grpcStatus(GrpcCode.AlreadyExists, `volume ${req.name} exists with an incompatible size ${existing.capacityBytes}`);
      }
      return { volume: this.#toVolume(existing) };
    }

    const defaultSize = this.#opts.defaultVolumeSize ?? GiB;
    const size = required > 0n ? required : limit > 0n && limit < defaultSize ? limit : defaultSize;
    const max = this.#opts.maximumVolumeSize;
    if (max !== undefined && size > max) throw grpcStatus(GrpcCode.OutOfRange, `size ${size} exceeds the maximum volume size ${max}`);
    if (size > this.availableCapacity) {
      throw grpcStatus(GrpcCode.ResourceExhausted, `insufficient capacity: ${this.availableCapacity} bytes left, ${size} requested`);
    }

    const source = req.volume_content_source;
    if (source?.snapshot) throw grpcStatus(GrpcCode.NotFound, `snapshot ${source.snapshot.snapshot_id} not found`);
    if (source?.volume && !this.#volumes.has(source.volume.volume_id)) {
      throw grpcStatus(GrpcCode.NotFound, `source volume ${source.volume.volume_id} not found`);
    }

    const reqs = req.accessibility_requirements;
    const topology = reqs?.preferred[0] ?? reqs?.requisite[0];
    const volumeId = this.#nextId();
    const v: FakeVolume = {
      volumeId,
      name: req.name,
      capacityBytes: size,
      parameters: { ...req.parameters },
      mutableParameters: { ...req.mutable_parameters },
      volumeContext: { 'fake.csi/name': req.name },
      contentSource: source ?? null,
      accessibleTopology: topology ? [{ segments: segmentsOf(topology) }] : [],
      accessModes: req.volume_capabilities.map((c) => c.access_mode?.mode ?? 'UNKNOWN'),
      publications: new Map(),
    };
    this.#volumes.set(volumeId, v);
    this.#byName.set(v.name, volumeId);
    return { volume: this.#toVolume(v) };
  }

  deleteVolume(req: Req<'DeleteVolume'>): Res<'DeleteVolume'> {
    if (!req.volume_id) throw grpcStatus(GrpcCode.InvalidArgument, 'volume_id is required');
    const v = this.#volumes.get(req.volume_id);
    if (v) {
      if (v.publications.size > 0) {
        throw grpcStatus(GrpcCode.FailedPrecondition, `volume ${v.volumeId} is still published to ${nodesOf(v)}`);
      }
      this.#volumes.delete(v.volumeId);
      this.#byName.delete(v.name);
    }
    return {};
  }

  publish(req: Req<'ControllerPublishVolume'>): Res<'ControllerPublishVolume'> {
    if (!req.volume_id) throw grpcStatus(GrpcCode.InvalidArgument, 'volume_id is required');
    if (!req.node_id) throw grpcStatus(GrpcCode.InvalidArgument, 'node_id is required');
    if (!req.volume_capability) throw grpcStatus(GrpcCode.InvalidArgument, 'volume_capability is required');
    const v = this.#volumes.get(req.volume_id);
    if (!v) throw grpcStatus(GrpcCode.NotFound, `volume ${req.volume_id} not found`);
    if (this.#opts.knownNodes && !this.#opts.knownNodes.includes(req.node_id)) {
      throw grpcStatus(GrpcCode.NotFound, `node ${req.node_id} not found`);
    }
    const current = v.publications.get(req.node_id);
    if (current) {
      if (current.readonly !== req.readonly) {
        throw grpcStatus(GrpcCode.AlreadyExists, `volume ${v.volumeId} is published to ${req.node_id} with readonly=${current.readonly}`);
      }
      return { publish_context: current.publishContext };
    }
    const mode = req.volume_capability.access_mode?.mode ?? 'UNKNOWN';
    if (mode.startsWith('SINGLE_NODE') && v.publications.size > 0) {
      throw grpcStatus(GrpcCode.FailedPrecondition, `volume ${v.volumeId} is already published to ${nodesOf(v)}`);
    }
    const max = this.#opts.maxVolumesPerNode;
    if (max !== undefined && this.#countOnNode(req.node_id) >= max) {
      throw grpcStatus(GrpcCode.ResourceExhausted, `node ${req.node_id} has reached its limit of ${max} volumes`);
    }
    const publication: FakePublication = {
      nodeId: req.node_id,
      readonly: req.readonly,
      publishContext: { devicePath: `/dev/fake/${v.volumeId}` },
    };
    v.publications.set(req.node_id, publication);
    return { publish_context: publication.publishContext };
  }

  unpublish(req: Req<'ControllerUnpublishVolume'>): Res<'ControllerUnpublishVolume'> {
    if (!req.volume_id) throw grpcStatus(GrpcCode.InvalidArgument, 'volume_id is required');
    const v = this.#volumes.get(req.volume_id);
    // The spec: an unknown volume or node counts as already unpublished.
    if (v) {
      if (req.node_id) v.publications.delete(req.node_id);
      else v.publications.clear();
    }
    return {};
  }

  expand(req: Req<'ControllerExpandVolume'>): Res<'ControllerExpandVolume'> {
    if (!req.volume_id) throw grpcStatus(GrpcCode.InvalidArgument, 'volume_id is required');
    const v = this.#volumes.get(req.volume_id);
    if (!v) throw grpcStatus(GrpcCode.NotFound, `volume ${req.volume_id} not found`);
    const required = req.capacity_range?.required_bytes ?? 0n;
    const limit = req.capacity_range?.limit_bytes ?? 0n;
    if (limit > 0n && required > limit) {
      throw grpcStatus(GrpcCode.InvalidArgument, `required_bytes ${required} exceeds limit_bytes ${limit}`);
    }
    if (required > v.capacityBytes) {
      const max = this.#opts.maximumVolumeSize;
      if (max !== undefined && required > max) {
        throw grpcStatus(GrpcCode.OutOfRange, `size ${required} exceeds the maximum volume size ${max}`);
      }
      const growth = required - v.capacityBytes;
      if (growth > this.availableCapacity) throw grpcStatus(GrpcCode.ResourceExhausted, 'insufficient capacity to expand');
      v.capacityBytes = required;
    }
    return { capacity_bytes: v.capacityBytes, node_expansion_required: this.#opts.nodeExpansionRequired ?? true };
  }

  modify(req: Req<'ControllerModifyVolume'>): Res<'ControllerModifyVolume'> {
    const v = this.#volumes.get(req.volume_id);
    if (!v) throw grpcStatus(GrpcCode.NotFound, `volume ${req.volume_id} not found`);
    v.mutableParameters = { ...v.mutableParameters, ...req.mutable_parameters };
    return {};
  }

  getVolume(req: Req<'ControllerGetVolume'>): Res<'ControllerGetVolume'> {
    const v = this.#volumes.get(req.volume_id);
    if (!v) throw grpcStatus(GrpcCode.NotFound, `volume ${req.volume_id} not found`);
    return { volume: this.#toVolume(v), status: { published_node_ids: [...v.publications.keys()] } };
  }

  validate(req: Req<'ValidateVolumeCapabilities'>): Res<'ValidateVolumeCapabilities'> {
    if (!this.#volumes.has(req.volume_id)) throw grpcStatus(GrpcCode.NotFound, `volume ${req.volume_id} not found`);
    return {
      confirmed: {
        volume_context: req.volume_context,
        volume_capabilities: req.volume_capabilities,
        parameters: req.parameters,
        mutable_parameters: req.mutable_parameters,
      },
    };
  }

  list(req: Req<'ListVolumes'>): Res<'ListVolumes'> {
    if (req.max_entries < 0) throw grpcStatus(GrpcCode.InvalidArgument, 'max_entries must not be negative');
    const all = this.all();
    let start = 0;
    if (req.starting_token) {
      start = /^\d+$/.test(req.starting_token) ? Number(req.starting_token) : -1;
      if (start < 0 || start > all.length) throw grpcStatus(GrpcCode.Aborted, `invalid starting_token ${req.starting_token}`);
    }
    const end = req.max_entries > 0 ? Math.min(all.length, start + req.max_entries) : all.length;
    return {
      entries: all.slice(start, end).map((v) => ({
        volume: this.#toVolume(v),
        status: { published_node_ids: [...v.publications.keys()] },
      })),
      next_token: end < all.length ? String(end) : '',
    };
  }

  getCapacity(_req: Req<'GetCapacity'>): Res<'GetCapacity'> {
    const max = this.#opts.maximumVolumeSize;
    return {
      available_capacity: this.availableCapacity,
      ...(max !== undefined ? { maximum_volume_size: { value: max } } : {}),
    };
  }

  #toVolume(v: FakeVolume) {
    return {
      volume_id: v.volumeId,
      capacity_bytes: v.capacityBytes,
      volume_context: { ...v.volumeContext },
      ...(v.contentSource ? { content_source: v.contentSource } : {}),
      accessible_topology: v.accessibleTopology.map((t) => ({ segments: { ...t.segments } })),
    };
  }

  #countOnNode(nodeId: string): number {
    let n = 0;
    for (const v of this.#volumes.values()) if (v.publications.has(nodeId)) n++;
    return n;
  }

  #nextId(): string {
    return `vol-${++this.#seq}`;
  }
}
