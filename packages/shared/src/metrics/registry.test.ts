import { describe, expect, it } from '@jest/globals';
import { Counter, register as globalRegister } from 'prom-client';
import { createRegistry } from './registry.js';

describe('createRegistry', () => {
  it('includes process and nodejs metrics by default', async () => {
    const text = await createRegistry().metrics();
    expect(text).toContain('process_start_time_seconds');
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toContain('nodejs_version_info');
  });

  it('can leave default metrics out', async () => {
    const registry = createRegistry({ collectDefault: false });
    expect(await registry.metrics()).not.toContain('process_');
  });

  it('returns independent registries, never the global one', async () => {
    const a = createRegistry({ collectDefault: false });
    const b = createRegistry({ collectDefault: false });
    expect(a).not.toBe(globalRegister);
    // The same metric name can live in two registries without a clash.
    new Counter({ name: 'demo_total', help: 'h', registers: [a] }).inc();
    new Counter({ name: 'demo_total', help: 'h', registers: [b] });
    expect(await a.metrics()).toContain('demo_total 1');
    expect(await b.metrics()).toContain('demo_total 0');
    expect(await globalRegister.getSingleMetric('demo_total')).toBeUndefined();
  });
});
