import { describe, expect, it } from '@jest/globals';
import { discardLogger, KubeApiError } from '@csi-sidecars-ts/shared';
import type { ControllerCapabilityName, KubeRequest, PluginServiceCapabilityName } from '@csi-sidecars-ts/shared';
import { planResizer, resolveVolumeAttributesClassGate, StartupError } from './startup.js';

function caps(services: PluginServiceCapabilityName[], controller: ControllerCapabilityName[]) {
  return { services: new Set(services), controller: new Set(controller) };
}

function node(expand: boolean | Error) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    nodeGetCapabilities: async () => {
      calls++;
      if (expand instanceof Error) throw expand;
      return { capabilities: expand ? [{ rpc: { type: 'EXPAND_VOLUME' as const } }] : [] };
    },
  };
}

describe('planResizer (start-up rules)', () => {
  it('controller EXPAND_VOLUME → CSI resizer; MODIFY_VOLUME → modifier (with the gate)', async () => {
    const n = node(false);
    const plan = await planResizer(caps(['CONTROLLER_SERVICE'], ['EXPAND_VOLUME', 'MODIFY_VOLUME', 'SINGLE_NODE_MULTI_WRITER']), n, true, discardLogger);
    expect(plan).toEqual({ resizer: 'controller', modifier: true, modifyController: true, singleNodeMultiWriter: true });
    expect(n.calls).toBe(0);
    expect((await planResizer(caps(['CONTROLLER_SERVICE'], ['EXPAND_VOLUME', 'MODIFY_VOLUME']), n, false, discardLogger)).modifyController).toBe(false);
  });

  it('node EXPAND_VOLUME only → node-only resizer', async () => {
    const plan = await planResizer(caps(['CONTROLLER_SERVICE'], ['CREATE_DELETE_VOLUME']), node(true), true, discardLogger);
    expect(plan.resizer).toBe('node-only');
    expect(plan.modifier).toBe(false);
  });

  it('modify without expand is allowed', async () => {
    const plan = await planResizer(caps(['CONTROLLER_SERVICE'], ['MODIFY_VOLUME']), node(false), true, discardLogger);
    expect(plan).toMatchObject({ resizer: 'none', modifier: true, modifyController: true });
  });

  it('fatal: no controller service (even for node-only drivers), neither resize nor modify, node capabilities failing', async () => {
    await expect(planResizer(caps([], ['EXPAND_VOLUME']), node(true), true, discardLogger)).rejects.toThrow(
      new StartupError('Failed to create CSI resizer: CSI driver does not support controller service'),
    );
    await expect(planResizer(caps(['CONTROLLER_SERVICE'], []), node(false), true, discardLogger)).rejects.toThrow('CSI driver does not support resize nor modify');
    await expect(planResizer(caps(['CONTROLLER_SERVICE'], []), node(new Error('boom')), true, discardLogger)).rejects.toThrow(
      'failed to check if plugin supports node resize: error getting node capabilities: boom',
    );
  });
});

describe('VolumeAttributesClass gate', () => {
  const gates = (enabled: boolean, explicit: boolean) => ({ enabled: () => enabled, isExplicitlySet: () => explicit });
  const discovery = (answer: unknown) => {
    const paths: string[] = [];
    return {
      paths,
      request: async <T>(req: KubeRequest): Promise<T> => {
        paths.push(req.path);
        if (answer instanceof Error) throw answer;
        return answer as T;
      },
    };
  };

  it('an explicit setting wins without asking the apiserver', async () => {
    const d = discovery(new Error('must not be called'));
    expect(await resolveVolumeAttributesClassGate(gates(false, true), d, discardLogger)).toBe(false);
    expect(await resolveVolumeAttributesClassGate(gates(true, true), d, discardLogger)).toBe(true);
    expect(d.paths).toEqual([]);
  });

  it('otherwise the gate follows storage.k8s.io/v1 discovery', async () => {
    const served = discovery({ resources: [{ name: 'volumeattributesclasses', kind: 'VolumeAttributesClass' }] });
    expect(await resolveVolumeAttributesClassGate(gates(true, false), served, discardLogger)).toBe(true);
    expect(served.paths).toEqual(['/apis/storage.k8s.io/v1']);
    expect(await resolveVolumeAttributesClassGate(gates(true, false), discovery({ resources: [{ kind: 'StorageClass' }] }), discardLogger)).toBe(false);
    expect(await resolveVolumeAttributesClassGate(gates(true, false), discovery(new KubeApiError(404, 'NotFound', 'not found')), discardLogger)).toBe(false);
    // A discovery failure keeps the gate as it was (logged).
    expect(await resolveVolumeAttributesClassGate(gates(true, false), discovery(new KubeApiError(500, 'InternalError', 'x')), discardLogger)).toBe(true);
  });
});
