// Locates (building on first use) the Go components the harness runs, through the project's
// build script: one source of truth for versions (the wrapper go.mod files under hack/go).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface GoComponents {
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  etcd: string;
  csiSanity: string;
  csiPlugin: string;
  /** Directory of the CSI spec module (holds csi.proto). */
  csiSpecDir: string;
  /** Directory of external-snapshotter's client module (holds config/crd). */
  snapshotCrdDir: string;
}

/** Runs hack/build-go-components.sh (progress goes to our stderr) and returns the binaries. */
export async function ensureGoComponents(onProgress: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<GoComponents> {
  const dirs = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [join(repoRoot, 'hack/build-go-components.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let errBuf = '';
    child.stderr.on('data', (d: Buffer) => {
      errBuf += d.toString();
      let nl: number;
      while ((nl = errBuf.indexOf('\n')) >= 0) {
        onProgress(errBuf.slice(0, nl));
        errBuf = errBuf.slice(nl + 1);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 127) return reject(new Error('the Go toolchain is missing: install Go 1.26+ (see README, "Requirements")'));
      if (code !== 0) return reject(new Error(`hack/build-go-components.sh failed with exit code ${code}`));
      for (const line of out.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0) dirs.set(line.slice(0, eq), line.slice(eq + 1));
      }
      resolve();
    });
  });
  const dir = (name: string): string => {
    const d = dirs.get(name);
    if (!d) throw new Error(`build script did not report component ${name}`);
    return d;
  };
  return {
    kubeApiserver: join(dir('kubernetes'), 'kube-apiserver'),
    kubeControllerManager: join(dir('kubernetes'), 'kube-controller-manager'),
    kubeScheduler: join(dir('kubernetes'), 'kube-scheduler'),
    etcd: join(dir('etcd'), 'server'),
    csiSanity: join(dir('csi-test'), 'csi-sanity'),
    csiPlugin: join(dir('csi-plugin'), 'csi-mock-plugin'),
    csiSpecDir: dir('csi-spec'),
    snapshotCrdDir: dir('snapshot-crds'),
  };
}
