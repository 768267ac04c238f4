// A real, local Kubernetes control plane on loopback: etcd, kube-apiserver (RBAC, token auth),
// kube-controller-manager (the volume controllers), kube-scheduler, and a real CSI plugin on a
// unix socket. Fake Nodes (no kubelet) are created and kept Ready by the harness.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { ManagedProcess, reapStrays } from './managed-process.js';
import { ensureGoComponents, type GoComponents } from './go-components.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';
import { FakeNodes, type FakeNodeOptions } from './fake-nodes.js';
import { Kube } from './kube.js';

export const DRIVER_NAME = 'io.kubernetes.storage.mock';
/** The mock plugin accepts ControllerPublish only for this node ID (it is the driver name). */
export const CSI_NODE_ID = DRIVER_NAME;
export const TOPOLOGY_KEY = `${DRIVER_NAME}/node`;
export const TOPOLOGY_VALUE = 'some-mock-node';

export interface ControlPlaneOptions {
  nodes?: number;
  /** Keep the working folder (logs, kubeconfig, etcd data) after stop. */
  keep?: boolean;
  /** Extra flags for the CSI plugin (see hack/go/csi-mock-plugin). */
  pluginArgs?: string[];
  /** Extra flags for kube-apiserver (after the harness's own). */
  apiserverArgs?: string[];
  log?: (line: string) => void;
}

export interface ClusterInfo {
  /** local: the harness's own control plane; external: a cluster the user brought (kind). */
  mode: 'local' | 'external';
  workDir: string;
  kubeconfig: string;
  csiEndpoint: string;
  csiSocket: string;
  apiServerUrl: string;
  etcdUrl: string;
  token: string;
  driverName: string;
  nodeNames: string[];
  components: GoComponents;
}

const pidRegistry = join(tmpdir(), 'csi-sidecars-ts-e2e.pids');

export class ControlPlane {
  readonly #opts: Required<ControlPlaneOptions>;
  readonly #procs: ManagedProcess[] = [];
  #info: ClusterInfo | undefined;
  #nodes: FakeNodes | undefined;
  #plugin: ManagedProcess | undefined;
  #apiserver: ManagedProcess | undefined;
  #apiserverArgs: string[] = [];
  #components: GoComponents | undefined;
  #kube: Kube | undefined;

  constructor(opts: ControlPlaneOptions = {}) {
    this.#opts = {
      nodes: opts.nodes ?? 3,
      keep: opts.keep ?? false,
      pluginArgs: opts.pluginArgs ?? [],
      apiserverArgs: opts.apiserverArgs ?? [],
      log: opts.log ?? ((l) => process.stderr.write(`${l}\n`)),
    };
  }

  get info(): ClusterInfo {
    if (!this.#info) throw new Error('control plane not started');
    return this.#info;
  }

  get kube(): Kube {
    if (!this.#kube) throw new Error('control plane not started');
    return this.#kube;
  }

  get processes(): readonly ManagedProcess[] {
    return this.#procs;
  }

  async start(): Promise<ClusterInfo> {
    const started = Date.now();
    const log = (msg: string) => this.#opts.log(`[cluster +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
    const reaped = reapStrays(pidRegistry);
    if (reaped.length) log(`killed processes left by an interrupted run: ${reaped.join(', ')}`);

    const components = await ensureGoComponents((l) => this.#opts.log(l));
    this.#components = components;
    const workDir = mkdtempSync(join(tmpdir(), 'csi-sidecars-cluster-'));
    const logs = join(workDir, 'logs');
    mkdirSync(logs);
    log(`working folder ${workDir}`);

    try {
      // etcd
      const [etcdPort, etcdPeerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
      const etcdUrl = `http://127.0.0.1:${etcdPort}`;
      const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
      this.#spawn('etcd', components.etcd, [
        '--name=default',
        `--data-dir=${join(workDir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ], logs);
      await waitFor('etcd health', async () => (await plainGet(`${etcdUrl}/health`)).includes('"health":"true"'), { timeoutMs: 60_000 });
      log('etcd ready');

      // kube-apiserver: token auth for an admin in system:masters, a generated SA signing key.
      const token = randomBytes(24).toString('hex');
      const tokenFile = join(workDir, 'tokens.csv');
      writeFileSync(tokenFile, `${token},csi-e2e-admin,csi-e2e-admin,"system:masters"\n`, { mode: 0o600 });
      const saKey = join(workDir, 'sa.key');
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      const apiServerUrl = `https://127.0.0.1:${apiPort}`;
      this.#apiserverArgs = [
        '--advertise-address=127.0.0.1',
        '--bind-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${join(workDir, 'apiserver-certs')}`,
        `--etcd-servers=${etcdUrl}`,
        `--token-auth-file=${tokenFile}`,
        '--authorization-mode=RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${saKey}`,
        `--service-account-signing-key-file=${saKey}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        // No SA token controller runs, and no node-lifecycle controller would ever lift the
        // not-ready taint TaintNodesByCondition puts on new Nodes.
        '--disable-admission-plugins=ServiceAccount,TaintNodesByCondition',
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        // Alpha: without it the apiserver drops spec.dataSourceRef when it names a namespace
        // (csi-provisioner's cross-namespace data sources). The PV controller does not need it.
        '--feature-gates=CrossNamespaceVolumeDataSource=true',
        '--v=1',
        ...this.#opts.apiserverArgs,
      ];
      this.#apiserver = this.#spawn('kube-apiserver', components.kubeApiserver, this.#apiserverArgs, logs);
      await this.#waitApiserverReady(apiServerUrl, token, this.#apiserver);
      log('kube-apiserver ready');

      const kubeconfig = join(workDir, 'kubeconfig');
      writeFileSync(kubeconfig, kubeconfigYaml(apiServerUrl, token), { mode: 0o600 });
      this.#kube = new Kube(kubeconfig);

      // kube-controller-manager with the controllers the volume path needs; node lifecycle is
      // off, so fake Nodes stay schedulable without kubelet leases.
      this.#spawn('kube-controller-manager', components.kubeControllerManager, [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        '--secure-port=0',
        '--use-service-account-credentials=false',
        '--controllers=persistentvolume-binder-controller,persistentvolume-attach-detach-controller,persistentvolume-expander-controller,persistentvolumeclaim-protection-controller,persistentvolume-protection-controller,namespace-controller,garbage-collector-controller',
        // The attach/detach controller reconciles every minute by default; tests want it prompt.
        '--attach-detach-reconcile-sync-period=5s',
        '--v=2',
      ], logs);
      this.#spawn('kube-scheduler', components.kubeScheduler, [
        `--kubeconfig=${kubeconfig}`,
        '--leader-elect=false',
        '--secure-port=0',
        '--v=1',
      ], logs);

      // The CSI plugin.
      const csiSocket = join(workDir, 'csi.sock');
      const csiEndpoint = `unix://${csiSocket}`;
      this.#plugin = this.#startPlugin(csiEndpoint, logs);
      await waitFor('CSI plugin socket', () => existsSocket(csiSocket), { timeoutMs: 30_000 });
      log(`CSI plugin ${DRIVER_NAME} serving on ${csiEndpoint}`);

      // Nodes, CSINodes, CSIDriver, snapshot CRDs.
      this.#nodes = new FakeNodes(this.#kube, {
        count: this.#opts.nodes,
        driverName: DRIVER_NAME,
        csiNodeId: CSI_NODE_ID,
        topology: { [TOPOLOGY_KEY]: TOPOLOGY_VALUE },
      } satisfies FakeNodeOptions);
      await this.#kube.ensureCsiDriver(DRIVER_NAME);
      const nodeNames = await this.#nodes.start();
      await this.#kube.applyCrdsFrom(join(components.snapshotCrdDir, 'config', 'crd'), (f) => f.startsWith('snapshot.storage.k8s.io_'));
      await waitFor('the default namespace and service account admission', () => this.#kube!.namespaceExists('default'));
      log(`${nodeNames.length} nodes Ready: ${nodeNames.join(', ')}`);

      this.#info = {
        mode: 'local',
        workDir,
        kubeconfig,
        csiEndpoint,
        csiSocket,
        apiServerUrl,
        etcdUrl,
        token,
        driverName: DRIVER_NAME,
        nodeNames,
        components,
      };
      log('control plane ready');
      return this.#info;
    } catch (err) {
      log(`start failed: ${(err as Error).message}`);
      for (const p of this.#procs) if (!p.running) log(`${p.name} exited; last log lines:\n${p.tail(20)}`);
      await this.stop({ keep: true });
      log(`logs kept in ${workDir}`);
      throw err;
    }
  }

  /** Takes ownership of processes started beside the control plane (stopped first on stop()). */
  adopt(...procs: ManagedProcess[]): void {
    this.#procs.push(...procs);
  }

  #spawn(name: string, command: string, args: string[], logs: string): ManagedProcess {
    const p = new ManagedProcess({ name, command, args, logFile: join(logs, `${name}.log`), pidFile: pidRegistry });
    this.#procs.push(p);
    this.#opts.log(`started ${name} (pid ${p.pid})`);
    return p;
  }

  #startPlugin(endpoint: string, logs: string): ManagedProcess {
    return this.#spawn('csi-plugin', this.#components!.csiPlugin, [
      `--endpoint=${endpoint}`,
      `--drivername=${DRIVER_NAME}`,
      '--enable-topology',
      ...this.#opts.pluginArgs,
    ], logs);
  }

  async #waitApiserverReady(url: string, token: string, proc: ManagedProcess): Promise<void> {
    await waitFor(
      'kube-apiserver /readyz',
      async () => {
        if (!proc.running) throw new Error(`kube-apiserver exited:\n${proc.tail(20)}`);
        return (await tlsGet(`${url}/readyz`, token)) === 'ok';
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  }

  /** Restarts kube-apiserver with the same flags (for reflector tests). */
  async restartApiserver(downMs = 0): Promise<void> {
    const info = this.info;
    const old = this.#apiserver!;
    await old.stop();
    this.#procs.splice(this.#procs.indexOf(old), 1);
    if (downMs) await new Promise((r) => setTimeout(r, downMs));
    this.#apiserver = this.#spawn('kube-apiserver', this.#components!.kubeApiserver, this.#apiserverArgs, join(info.workDir, 'logs'));
    await this.#waitApiserverReady(info.apiServerUrl, info.token, this.#apiserver);
  }

  /** Restarts the CSI plugin process (its volumes are in memory: they are lost). */
  async restartPlugin(): Promise<void> {
    const info = this.info;
    const old = this.#plugin!;
    await old.stop();
    this.#procs.splice(this.#procs.indexOf(old), 1);
    this.#plugin = this.#startPlugin(info.csiEndpoint, join(info.workDir, 'logs'));
    await waitFor('CSI plugin socket', () => existsSocket(info.csiSocket), { timeoutMs: 30_000 });
  }

  async stop({ keep = this.#opts.keep }: { keep?: boolean } = {}): Promise<void> {
    await this.#nodes?.stop();
    // Stop in reverse start order: plugin and controllers first, etcd last.
    for (const p of [...this.#procs].reverse()) await p.stop();
    this.#procs.length = 0;
    if (this.#info && !keep) rmSync(this.#info.workDir, { recursive: true, force: true });
    if (this.#info && keep) appendFileSync(join(this.#info.workDir, 'KEPT'), `kept at ${new Date().toISOString()}\n`);
  }
}

function existsSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

function plainGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const insecureAgent = new Agent({ rejectUnauthorized: false, keepAlive: false });

function tlsGet(url: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { agent: insecureAgent, timeout: 2000, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function kubeconfigYaml(server: string, token: string): string {
  // The apiserver's serving certificate is self-signed for this run only: skip verification.
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: local',
    '  cluster:',
    `    server: ${server}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: local',
    '  context:',
    '    cluster: local',
    '    user: admin',
    'current-context: local',
    '',
  ].join('\n');
}
