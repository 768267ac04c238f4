import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadKubeConfig } from './kubeconfig.js';

let dir: string;

function kubeconfig(name: string, server: string, extraUser = '{}'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${name}-cluster`,
      '  cluster:',
      `    server: ${server}`,
      'users:',
      `- name: ${name}-user`,
      `  user: ${extraUser}`,
      'contexts:',
      `- name: ${name}`,
      '  context:',
      `    cluster: ${name}-cluster`,
      `    user: ${name}-user`,
      '    namespace: team-a',
      `current-context: ${name}`,
      '',
    ].join('\n'),
  );
  return file;
}

let saDir: string;
let home: string;
let emptyHome: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-test-'));
  saDir = path.join(dir, 'sa');
  fs.mkdirSync(saDir);
  fs.writeFileSync(path.join(saDir, 'token'), 'pod-token');
  fs.writeFileSync(path.join(saDir, 'namespace'), 'kube-system\n');
  home = path.join(dir, 'home');
  fs.mkdirSync(path.join(home, '.kube'), { recursive: true });
  fs.copyFileSync(kubeconfig('home-src', 'https://home.example:6443'), path.join(home, '.kube', 'config'));
  emptyHome = path.join(dir, 'empty-home');
  fs.mkdirSync(emptyHome);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const inCluster = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };

describe('loadKubeConfig precedence', () => {
  it('--kubeconfig wins over KUBECONFIG, in-cluster and home', () => {
    const flag = kubeconfig('flag', 'https://flag.example:6443');
    const env = kubeconfig('env', 'https://env.example:6443');
    const got = loadKubeConfig({ kubeconfig: flag, env: { ...inCluster, KUBECONFIG: env }, homeDir: home, serviceAccountDir: saDir });
    expect(got.source).toBe('kubeconfig-flag');
    expect(got.server).toBe('https://flag.example:6443');
    expect(got.namespace).toBe('team-a');
  });

  it('KUBECONFIG wins over in-cluster and home; missing entries are skipped and the first file leads', () => {
    const a = kubeconfig('a', 'https://a.example:6443');
    const b = kubeconfig('b', 'https://b.example:6443');
    const got = loadKubeConfig({ env: { ...inCluster, KUBECONFIG: [path.join(dir, 'nope'), a, b].join(path.delimiter) }, homeDir: home, serviceAccountDir: saDir });
    expect(got.source).toBe('KUBECONFIG');
    expect(got.server).toBe('https://a.example:6443');
    expect(got.files).toEqual([a, b]);
    // The second file's context is merged in.
    expect(got.kubeConfig.getContexts().map((c) => c.name).sort()).toEqual(['a', 'b']);
  });

  it('uses the service account in a pod, before ~/.kube/config', () => {
    const got = loadKubeConfig({ env: inCluster, homeDir: home, serviceAccountDir: saDir });
    expect(got.source).toBe('in-cluster');
    expect(got.server).toBe('https://10.0.0.1:443');
    expect(got.namespace).toBe('kube-system');
  });

  it('falls back to ~/.kube/config outside a pod', () => {
    const got = loadKubeConfig({ env: {}, homeDir: home, serviceAccountDir: saDir });
    expect(got.source).toBe('home');
    expect(got.server).toBe('https://home.example:6443');
  });

  it('--master overrides the server of the chosen kubeconfig', () => {
    const flag = kubeconfig('flag2', 'https://flag.example:6443', '{token: abc}');
    const got = loadKubeConfig({ kubeconfig: flag, master: 'https://other.example:8443', env: {}, homeDir: emptyHome });
    expect(got.server).toBe('https://other.example:8443');
    expect(got.kubeConfig.getCurrentCluster()?.server).toBe('https://other.example:8443');
    // Credentials stay those of the kubeconfig.
    expect(got.kubeConfig.getCurrentUser()?.token).toBe('abc');
  });

  it('an http:// --master works over a kubeconfig made for TLS', () => {
    const flag = kubeconfig('flag3', 'https://flag.example:6443');
    const got = loadKubeConfig({ kubeconfig: flag, master: 'http://127.0.0.1:8080', env: {} });
    expect(got.server).toBe('http://127.0.0.1:8080');
    expect(got.kubeConfig.getCurrentCluster()?.skipTLSVerify).toBe(true);
  });

  it('--master alone does not send the pod token elsewhere: no in-cluster credentials', () => {
    const got = loadKubeConfig({ master: 'http://127.0.0.1:8080', env: inCluster, homeDir: emptyHome, serviceAccountDir: saDir });
    expect(got.source).toBe('master-only');
    expect(got.server).toBe('http://127.0.0.1:8080');
    expect(got.kubeConfig.getCurrentUser()?.authProvider).toBeUndefined();
  });

  it('names the flag when the --kubeconfig file cannot be read', () => {
    expect(() => loadKubeConfig({ kubeconfig: path.join(dir, 'missing'), env: {} })).toThrow(/--kubeconfig/);
  });

  it('rejects a --master that is not a URL', () => {
    expect(() => loadKubeConfig({ master: 'ftp://x', env: {}, homeDir: emptyHome })).toThrow(/--master/);
  });

  it('explains what is missing when nothing is configured', () => {
    expect(() => loadKubeConfig({ env: {}, homeDir: emptyHome, serviceAccountDir: path.join(dir, 'no-sa') })).toThrow(/--kubeconfig or --master/);
  });
});
