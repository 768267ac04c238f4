// ControllerModifyVolume for a PV: the VolumeAttributesClass parameters as mutable parameters,
// secrets from the PV's controller-modify annotations (falling back to the expand secret).

import type { ControllerClient, PersistentVolume } from '@csi-sidecars-ts/shared';
import { ANN_MODIFY_SECRET_NAME, ANN_MODIFY_SECRET_NAMESPACE } from '../constants.js';
import type { SecretSource } from './secrets.js';
import { readSecretData } from './secrets.js';

export type ModifyClient = Pick<ControllerClient, 'controllerModifyVolume'>;

export interface VolumeModifier {
  readonly driverName: string;
  modify(pv: PersistentVolume, mutableParameters: Record<string, string>, signal?: AbortSignal): Promise<void>;
}

export class CsiModifier implements VolumeModifier {
  readonly driverName: string;
  readonly #client: ModifyClient;
  readonly #secrets: SecretSource;

  constructor(opts: { driverName: string; client: ModifyClient; secrets: SecretSource }) {
    this.driverName = opts.driverName;
    this.#client = opts.client;
    this.#secrets = opts.secrets;
  }

  async modify(pv: PersistentVolume, mutableParameters: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const name = pv.metadata?.name ?? '';
    const csi = pv.spec?.csi;
    if (!csi) throw new Error(`volume ${name} is not a CSI volume, modify volume feature only supports CSI volumes`);
    if (!csi.volumeHandle) throw new Error(`PV ${name}: empty volume handle (spec.csi.volumeHandle)`);
    const secrets = await this.#modifySecrets(pv);
    await this.#client.controllerModifyVolume({ volume_id: csi.volumeHandle, secrets, mutable_parameters: mutableParameters }, { signal });
  }

  async #modifySecrets(pv: PersistentVolume): Promise<Record<string, string>> {
    const annotations = pv.metadata?.annotations ?? {};
    let name = annotations[ANN_MODIFY_SECRET_NAME] ?? '';
    let namespace = annotations[ANN_MODIFY_SECRET_NAMESPACE] ?? '';
    if (name === '' || namespace === '') {
      const ref = pv.spec?.csi?.controllerExpandSecretRef;
      if (!ref?.name) return {};
      name = ref.name;
      namespace = ref.namespace ?? '';
    }
    return readSecretData(this.#secrets, namespace, name);
  }
}
