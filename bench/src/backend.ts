// The CSI plugin's own view of its volumes, through the project's shared CSI client: volumes the
// scenarios need before a sidecar starts, and the count that proves a deletion run emptied it.
import { CsiConnection } from '@csi-sidecars-ts/shared';
import { mapLimit } from './kube/api.js';
import { GIB } from './kube/objects.js';

export class Backend {
  #conn: CsiConnection | undefined;

  constructor(private readonly endpoint: string) {}

  async connect(): Promise<void> {
    this.#conn?.dispose();
    // The bench restarts the plugin between runs: a lost connection is expected, not fatal.
    this.#conn = new CsiConnection({ address: this.endpoint, timeoutMs: 30_000, onConnectionLost: () => undefined });
    await this.#conn.start();
  }

  #c(): CsiConnection {
    if (!this.#conn) throw new Error('backend not connected');
    return this.#conn;
  }

  /** Creates a 1 GiB volume per name; returns the volume IDs in the same order. */
  async createVolumes(names: readonly string[], concurrency = 16): Promise<string[]> {
    const c = this.#c();
    return mapLimit(names, concurrency, async (name) => {
      const res = await c.controller.createVolume({
        name,
        capacity_range: { required_bytes: BigInt(GIB) },
        volume_capabilities: [{ mount: { fs_type: 'ext4' }, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
      });
      if (!res.volume?.volume_id) throw new Error(`CreateVolume ${name} returned no volume_id`);
      return res.volume.volume_id;
    });
  }

  /** The IDs of the volumes the plugin holds (ListVolumes, paged). The mock plugin starts with a few of its own. */
  async volumeIds(): Promise<Set<string>> {
    const c = this.#c();
    const ids = new Set<string>();
    let token = '';
    do {
      const res = await c.controller.listVolumes({ max_entries: 1000, starting_token: token });
      for (const e of res.entries) if (e.volume?.volume_id) ids.add(e.volume.volume_id);
      token = res.next_token;
    } while (token);
    return ids;
  }

  /** How many of these volumes the plugin still holds. */
  async remaining(ids: readonly string[]): Promise<number> {
    const present = await this.volumeIds();
    return ids.filter((id) => present.has(id)).length;
  }

  dispose(): void {
    this.#conn?.dispose();
    this.#conn = undefined;
  }
}
