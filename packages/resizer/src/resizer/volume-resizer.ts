// The two ways a volume gets bigger: ControllerExpandVolume (CsiResizer), or, for drivers that
// expand only on the node, a bookkeeping-only resizer that hands the whole job to kubelet.

import { Quantity, createMigrationTranslator } from '@csi-sidecars-ts/shared';
import type { ControllerClient, PersistentVolume, PersistentVolumeClaim } from '@csi-sidecars-ts/shared';
import { isMigratedCsiDriver } from '../constants.js';
import type { MatchResult } from '../controller/volume-match.js';
import { driverServesVolume } from '../controller/volume-match.js';
import { InfeasibleResizeError } from './errors.js';
import type { SecretSource } from './secrets.js';
import { readSecretData } from './secrets.js';
import { volumeCapabilityFor } from './volume-capability.js';

export interface ExpandResult {
  /** The volume's size after expansion (what goes into the PV). */
  size: Quantity;
  nodeExpansionRequired: boolean;
}

export interface VolumeResizer {
  readonly driverName: string;
  /** False for the node-only resizer (DriverSupportsControlPlaneExpansion in Go). */
  readonly controllerExpansion: boolean;
  canSupport(pv: PersistentVolume, pvc: PersistentVolumeClaim): MatchResult;
  resize(pv: PersistentVolume, size: Quantity, signal?: AbortSignal): Promise<ExpandResult>;
}

export type ExpandClient = Pick<ControllerClient, 'controllerExpandVolume'>;

export interface CsiResizerOptions {
  driverName: string;
  client: ExpandClient;
  secrets: SecretSource;
  /**
   * The driver's SINGLE_NODE_MULTI_WRITER controller capability. The Go resizer asks for the
   * capabilities before every call; they cannot change while the connection lives (a driver
   * restart ends the process), so the answer read at start-up is used.
   */
  singleNodeMultiWriter: boolean;
}

export class CsiResizer implements VolumeResizer {
  readonly driverName: string;
  readonly controllerExpansion = true;
  readonly #opts: CsiResizerOptions;

  constructor(opts: CsiResizerOptions) {
    this.driverName = opts.driverName;
    this.#opts = opts;
  }

  canSupport(pv: PersistentVolume, pvc: PersistentVolumeClaim): MatchResult {
    return driverServesVolume(this.driverName, pv, pvc);
  }

  async resize(pv: PersistentVolume, size: Quantity, signal?: AbortSignal): Promise<ExpandResult> {
    const name = pv.metadata?.name ?? '';
    let volume = pv;
    let migrated = false;
    if (!pv.spec?.csi) {
      if (!isMigratedCsiDriver(this.driverName)) throw new Error(`volume ${name} is not migrated to CSI`);
      const translator = createMigrationTranslator();
      volume = translator.translateInTreePvToCsi(pv);
      if (volume.spec?.csi?.driver !== this.driverName) {
        throw new Error(`volume ${name} is not migrated to CSI: its in-tree source translates to driver ${volume.spec?.csi?.driver ?? ''}, not ${this.driverName}`);
      }
      migrated = true;
    }
    const csi = volume.spec!.csi!;
    if (!csi.volumeHandle) throw new Error(`PV ${name}: empty volume handle (spec.csi.volumeHandle)`);

    let requiredBytes: bigint;
    try {
      requiredBytes = size.int64Value();
    } catch (err) {
      throw new InfeasibleResizeError(`requested size ${size.toString()} cannot be sent to the CSI driver: ${(err as Error).message}`, { cause: err });
    }

    let secrets: Record<string, string> = {};
    const ref = csi.controllerExpandSecretRef;
    if (ref?.name) secrets = await readSecretData(this.#opts.secrets, ref.namespace ?? '', ref.name);

    let capability;
    try {
      capability = volumeCapabilityFor(volume, this.#opts.singleNodeMultiWriter);
    } catch (err) {
      throw new Error(`failed to get capabilities of volume ${name} with ${(err as Error).message}`, { cause: err });
    }

    const response = await this.#opts.client.controllerExpandVolume(
      { volume_id: csi.volumeHandle, capacity_range: { required_bytes: requiredBytes }, secrets, volume_capability: capability },
      { signal, migrated },
    );
    const bytes = response.capacity_bytes;
    // The Go resizer writes whatever comes back into the PV; 0 is rejected by the apiserver
    // forever (external-resizer #226) and a short answer restarts the expansion forever.
    if (bytes <= 0n) {
      throw new InfeasibleResizeError(
        `CSI driver ${this.driverName} answered ControllerExpandVolume for volume ${csi.volumeHandle} with capacity_bytes ${bytes}; ` +
          `the CSI spec requires the capacity after expansion (at least the requested ${requiredBytes} bytes)`,
      );
    }
    if (bytes < requiredBytes) {
      throw new InfeasibleResizeError(
        `CSI driver ${this.driverName} expanded volume ${csi.volumeHandle} to ${bytes} bytes, less than the requested ${requiredBytes} bytes`,
      );
    }
    return { size: Quantity.fromBigInt(bytes, 'BinarySI'), nodeExpansionRequired: response.node_expansion_required };
  }
}

/** For drivers with node EXPAND_VOLUME only: no CSI call; kubelet does the expansion. */
export class NodeOnlyResizer implements VolumeResizer {
  readonly driverName: string;
  readonly controllerExpansion = false;

  constructor(driverName: string) {
    this.driverName = driverName;
  }

  canSupport(pv: PersistentVolume, pvc: PersistentVolumeClaim): MatchResult {
    return driverServesVolume(this.driverName, pv, pvc);
  }

  async resize(_pv: PersistentVolume, size: Quantity): Promise<ExpandResult> {
    return { size, nodeExpansionRequired: true };
  }
}
