// jest globalTeardown: stop every process of the control plane, whatever the tests did.
export default async function globalTeardown(): Promise<void> {
  const cp = globalThis.__csiControlPlane;
  globalThis.__csiControlPlane = undefined;
  if (cp) await cp.stop();
}
