#!/usr/bin/env node
// `npm run cluster`: a local control plane in the foreground until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { ControlPlane } from './control-plane.js';

const usage = `Usage: npm run cluster -- [--nodes N] [--keep] [--with-sidecars]

Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler, N fake Nodes and the CSI
plugin on loopback, prints KUBECONFIG=... and CSI_ENDPOINT=... when ready, and stops everything on
Ctrl-C. --keep leaves the working folder (logs, etcd data) behind.`;

async function main(): Promise<number> {
  let values: { nodes?: string; keep?: boolean; 'with-sidecars'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        nodes: { type: 'string' },
        keep: { type: 'boolean' },
        'with-sidecars': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const nodes = values.nodes === undefined ? 3 : Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 100) {
    console.error(`--nodes must be an integer between 1 and 100, got ${values.nodes}`);
    return 2;
  }
  const cp = new ControlPlane({ nodes, keep: values.keep ?? false });
  let stopping = false;
  const done = new Promise<number>((resolve) => {
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      console.error(`received ${sig}, stopping the control plane`);
      void cp.stop().then(() => resolve(0), (err: Error) => {
        console.error(`stop failed: ${err.message}`);
        resolve(1);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  const info = await cp.start();
  if (values['with-sidecars']) {
    const { startSidecars } = await import('./sidecars.js');
    await startSidecars(cp);
  }
  console.log(`KUBECONFIG=${info.kubeconfig}`);
  console.log(`CSI_ENDPOINT=${info.csiEndpoint}`);
  return done;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`cluster: ${err.message}`);
    process.exit(1);
  },
);
