#!/usr/bin/env node
// Memory and start-up of our sidecars (and optionally the Go ones) against a running control
// plane: `npm run cluster -- --keep` prints the KUBECONFIG and CSI_ENDPOINT to pass here.
//
//   node scripts/measure-memory.mjs --kubeconfig <file> --csi-address <unix://…> [--pairs 5000]
//        [--sidecars provisioner,attacher,resizer] [--go] [--qps 5 --burst 10] [--node-args "…"]
//
// For each sidecar: spawn it, wait until its CPU goes quiet (the caches are synced), force a
// steady state (SIGUSR2 → nothing; we just wait 3 s more) and read VmRSS/VmHWM from
// /proc/<pid>/status. Start-up = spawn until the CPU went quiet. --pairs N first makes sure the
// namespace mem-idle holds N bound-looking PVC/PV pairs (2N objects), as the bench's idle data set.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'csi-address': { type: 'string' },
    pairs: { type: 'string', default: '0' },
    sidecars: { type: 'string', default: 'provisioner,attacher,resizer' },
    go: { type: 'boolean', default: false },
    qps: { type: 'string', default: '5' },
    burst: { type: 'string', default: '10' },
    'node-args': { type: 'string', default: '' },
    driver: { type: 'string', default: 'io.kubernetes.storage.mock' },
  },
});
if (!values.kubeconfig || !values['csi-address']) {
  console.error('usage: measure-memory.mjs --kubeconfig <file> --csi-address <unix://…> [--pairs N] [--sidecars …] [--go]');
  process.exit(2);
}
const NS = 'mem-idle';
const shared = await import(path.join(root, 'packages/shared/dist/index.js'));
const kube = shared.createKubeClient({ kubeconfig: values.kubeconfig, qps: -1 });

async function ensurePairs(n) {
  if (n <= 0) return;
  await kube.request({ method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: NS } } }).catch((e) => { if (e.code !== 409) throw e; });
  const have = new Set();
  let cont;
  do {
    const list = await kube.request({ method: 'GET', path: `/api/v1/namespaces/${NS}/persistentvolumeclaims`, query: { limit: 500, continue: cont } });
    for (const c of list.items) have.add(c.metadata.name);
    cont = list.metadata.continue;
  } while (cont);
  const todo = [];
  for (let i = 0; i < n; i++) if (!have.has(`c-${i}`)) todo.push(i);
  if (todo.length === 0) return;
  console.error(`writing ${todo.length} PVC/PV pairs into ${NS}`);
  const driver = values.driver;
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const i = todo[next++];
      const pv = `mem-idle-pv-${i}`;
      const c = await kube.request({
        method: 'POST',
        path: `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
        body: {
          metadata: {
            name: `c-${i}`,
            labels: { 'bench.csi-sidecars-ts/set': 'keep' },
            annotations: {
              'volume.kubernetes.io/storage-provisioner': driver,
              'volume.beta.kubernetes.io/storage-provisioner': driver,
              'volume.kubernetes.io/storage-resizer': driver,
              'pv.kubernetes.io/bind-completed': 'yes',
              'pv.kubernetes.io/bound-by-controller': 'yes',
            },
          },
          spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'mem-idle', resources: { requests: { storage: '1Gi' } }, volumeName: pv },
        },
      });
      await kube.request({
        method: 'POST',
        path: '/api/v1/persistentvolumes',
        body: {
          metadata: { name: pv, labels: { 'bench.csi-sidecars-ts/set': 'keep' }, annotations: { 'pv.kubernetes.io/provisioned-by': driver }, finalizers: ['external-provisioner.volume.kubernetes.io/finalizer'] },
          spec: {
            capacity: { storage: '1Gi' },
            accessModes: ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: 'Delete',
            storageClassName: 'mem-idle',
            volumeMode: 'Filesystem',
            csi: { driver, volumeHandle: `idle-volume-${i}`, fsType: 'ext4' },
            claimRef: { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: NS, name: `c-${i}`, uid: c.metadata.uid },
          },
        },
      });
      const merge = 'application/merge-patch+json';
      await kube.request({ method: 'PATCH', path: `/api/v1/persistentvolumes/${pv}/status`, contentType: merge, body: { status: { phase: 'Bound' } } });
      await kube.request({ method: 'PATCH', path: `/api/v1/namespaces/${NS}/persistentvolumeclaims/c-${i}/status`, contentType: merge, body: { status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } } } });
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

function procStatus(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const bins = {
  provisioner: { ours: 'packages/provisioner/dist/cmd/csi-provisioner.js', go: 'csi-provisioner' },
  attacher: { ours: 'packages/attacher/dist/cmd/csi-attacher.js', go: 'csi-attacher' },
  resizer: { ours: 'packages/resizer/dist/cmd/csi-resizer.js', go: 'csi-resizer' },
};

async function measure(sidecar, impl) {
  const args = [`--kubeconfig=${values.kubeconfig}`, `--csi-address=${values['csi-address']}`, '--leader-election=false', `--kube-api-qps=${values.qps}`, `--kube-api-burst=${values.burst}`, '--v=2'];
  let cmd;
  let argv;
  if (impl === 'ours') {
    cmd = path.join(root, 'node_modules/.bin/node');
    // MEASURE_BINS_ROOT: another checkout's built tree (e.g. the previous commit, for a before/after).
    const binsRoot = process.env.MEASURE_BINS_ROOT ?? root;
    const script = path.join(binsRoot, bins[sidecar].ours);
    // The Node flags the bin names on its first line (#!/usr/bin/env -S node <flags>), as every launcher uses.
    const shebang = /^#!\S*env -S node((?:\s+--\S+)*)\s*$/.exec(fs.readFileSync(script, 'utf8').split('\n', 1)[0]);
    const binFlags = shebang ? shebang[1].trim().split(/\s+/).filter(Boolean) : [];
    argv = [...binFlags, ...values['node-args'].split(' ').filter(Boolean), script, ...args];
  } else {
    const dir = path.join(process.env.CSI_SIDECARS_CACHE ?? path.join(process.env.HOME, '.cache/csi-sidecars-ts'), 'bin');
    const sub = fs.readdirSync(dir).find((d) => d.startsWith(`external-${sidecar}-`));
    if (!sub) throw new Error(`no Go external-${sidecar} under ${dir}: run hack/build-go-components.sh`);
    cmd = path.join(dir, sub, bins[sidecar].go);
    argv = args;
  }
  const log = fs.openSync(`/tmp/measure-memory-${sidecar}-${impl}.log`, 'w');
  const started = Date.now();
  const child = spawn(cmd, argv, { stdio: ['ignore', log, log] });
  let exited = false;
  child.on('exit', () => (exited = true));
  // Quiet: no CPU tick for 1.5 s, after at least 0.3 s.
  let last = -1;
  let quietSince = Date.now();
  let syncedAt;
  for (;;) {
    await sleep(100);
    if (exited) throw new Error(`${sidecar} (${impl}) exited; see /tmp/measure-memory-${sidecar}-${impl}.log`);
    const t = cpuTicks(child.pid);
    if (t !== last) {
      last = t;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= 1500 && Date.now() - started > 300) {
      syncedAt = quietSince;
      break;
    }
    if (Date.now() - started > 120_000) throw new Error('never went quiet');
  }
  await sleep(3000);
  const mem = procStatus(child.pid);
  if (process.env.MEASURE_PROBE_SIGNAL) {
    // Diagnosis: a sidecar started with --node-args=--import=<probe> prints its heap on this signal.
    child.kill(process.env.MEASURE_PROBE_SIGNAL);
    await sleep(1000);
  }
  child.kill('SIGTERM');
  await new Promise((r) => (exited ? r() : child.on('exit', r)));
  fs.closeSync(log);
  // Requests for the initial state, from our reflector's log lines (v=2): LIST pages, or one
  // streaming list (which is also the watch) per resource.
  const text = fs.readFileSync(`/tmp/measure-memory-${sidecar}-${impl}.log`, 'utf8');
  const listRequests =
    impl === 'ours' ? [...text.matchAll(/"Listed" .*?(?:pages=(\d+)|streaming=true)/g)].reduce((n, m) => n + (m[1] ? Number(m[1]) : 1), 0) : undefined;
  return { sidecar, impl, listRequests, startupS: (syncedAt - started) / 1000, rssMiB: +mem.rss.toFixed(1), hwmMiB: +mem.hwm.toFixed(1), cpuS: last / 100 };
}

await ensurePairs(Number(values.pairs));
kube.dispose();
const results = [];
for (const s of values.sidecars.split(',').filter(Boolean)) {
  for (const impl of values.go ? ['ours', 'go'] : ['ours']) {
    const r = await measure(s, impl);
    results.push(r);
    console.log(JSON.stringify(r));
  }
}
console.table(results);
