import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import type https from 'node:https';
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
    expect(got.config!.contexts.map((c) => c.name).sort()).toEqual(['a', 'b']);
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
    expect(got.cluster?.server).toBe('https://other.example:8443');
    expect(got.connection.server).toBe('https://other.example:8443');
    // Credentials stay those of the kubeconfig.
    expect(got.user?.token).toBe('abc');
  });

  it('an http:// --master works over a kubeconfig made for TLS', () => {
    const flag = kubeconfig('flag3', 'https://flag.example:6443');
    const got = loadKubeConfig({ kubeconfig: flag, master: 'http://127.0.0.1:8080', env: {} });
    expect(got.server).toBe('http://127.0.0.1:8080');
    expect(got.cluster?.['insecure-skip-tls-verify']).toBe(true);
  });

  it('--master alone does not send the pod token elsewhere: no in-cluster credentials', async () => {
    const got = loadKubeConfig({ master: 'http://127.0.0.1:8080', env: inCluster, homeDir: emptyHome, serviceAccountDir: saDir });
    expect(got.source).toBe('master-only');
    expect(got.server).toBe('http://127.0.0.1:8080');
    expect(got.user).toEqual({});
    const opts: { headers: Record<string, string> } = { headers: {} };
    await got.connection.applyToHTTPSOptions(opts);
    expect(opts.headers.Authorization).toBeUndefined();
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

describe('loadKubeConfig credentials without client-node', () => {
  const apply = async (got: ReturnType<typeof loadKubeConfig>) => {
    const opts: https.RequestOptions & { headers: Record<string, string> } = { headers: {} };
    await got.connection.applyToHTTPSOptions(opts);
    return opts;
  };

  it('in a pod: the service-account token and CA, read from the mounted files', async () => {
    fs.writeFileSync(path.join(saDir, 'ca.crt'), 'PEM-CA');
    try {
      const got = loadKubeConfig({ env: inCluster, homeDir: emptyHome, serviceAccountDir: saDir });
      expect(got.usesClientNode).toBe(false);
      const opts = await apply(got);
      expect(opts.headers.Authorization).toBe('Bearer pod-token');
      expect(String(opts.ca)).toBe('PEM-CA');
    } finally {
      fs.rmSync(path.join(saDir, 'ca.crt'));
    }
  });

  it('relative certificate and token paths are relative to the kubeconfig file', async () => {
    const sub = path.join(dir, 'rel');
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, 'ca.pem'), 'CA');
    fs.writeFileSync(path.join(sub, 'tok'), 'file-token\n');
    fs.writeFileSync(path.join(sub, 'client.pem'), 'CERT');
    fs.writeFileSync(path.join(sub, 'client.key'), 'KEY');
    const file = path.join(sub, 'config');
    fs.writeFileSync(
      file,
      [
        'clusters:',
        '- name: c',
        '  cluster: {server: "https://rel.example:6443", certificate-authority: ca.pem, tls-server-name: api.internal}',
        'users:',
        '- name: u',
        '  user:',
        '    tokenFile: tok',
        '    client-certificate: client.pem',
        '    client-key: ./client.key',
        'contexts:',
        '- {name: x, context: {cluster: c, user: u}}',
        'current-context: x',
      ].join('\n'),
    );
    const opts = await apply(loadKubeConfig({ kubeconfig: file, env: {} }));
    expect(opts.headers.Authorization).toBe('Bearer file-token');
    expect([String(opts.ca), String(opts.cert), String(opts.key)]).toEqual(['CA', 'CERT', 'KEY']);
    expect(opts.servername).toBe('api.internal');
  });

  it('inline base64 data, insecure-skip-tls-verify and basic auth', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const file = kubeconfig(
      'inline',
      'https://inline.example:6443',
      `{client-certificate-data: ${b64('CERT')}, client-key-data: ${b64('KEY')}, username: admin, password: "p:w"}`,
    );
    const text = fs.readFileSync(file, 'utf8').replace('    server:', `    certificate-authority-data: ${b64('CA')}\n    insecure-skip-tls-verify: false\n    server:`);
    fs.writeFileSync(file, text);
    const opts = await apply(loadKubeConfig({ kubeconfig: file, env: {} }));
    expect([String(opts.ca), String(opts.cert), String(opts.key)]).toEqual(['CA', 'CERT', 'KEY']);
    expect(opts.auth).toBe('admin:p:w');
    expect(opts.rejectUnauthorized).toBeUndefined();
    expect(opts.headers.Authorization).toBeUndefined();
  });

  it('exec credential plugins go to client-node, which loads only then', () => {
    const file = kubeconfig('exec', 'https://exec.example:6443', '{exec: {apiVersion: client.authentication.k8s.io/v1, command: ./get-token, interactiveMode: Never}}');
    const got = loadKubeConfig({ kubeconfig: file, env: {} });
    expect(got.usesClientNode).toBe(true);
    expect(got.connection.server).toBe('https://exec.example:6443');
    // clientcmd's rule: a command with a path separator is relative to the kubeconfig's folder.
    expect((got.user?.exec as { command: string }).command).toBe(path.join(dir, 'get-token'));
  });

  it('YAML outside our reader (anchors) still loads, through the full parser', () => {
    const file = path.join(dir, 'anchors');
    fs.writeFileSync(
      file,
      [
        'clusters:',
        '- name: c',
        '  cluster: &c {server: "https://anchor.example:6443"}',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
        'extra: *c',
      ].join('\n'),
    );
    const got = loadKubeConfig({ kubeconfig: file, env: {} });
    expect(got.server).toBe('https://anchor.example:6443');
    expect(got.usesClientNode).toBe(false);
  });

  it('names the file when a credential file is missing', async () => {
    const file = kubeconfig('missing-ca', 'https://m.example:6443', '{client-certificate: /nonexistent/cert.pem}');
    await expect(loadKubeConfig({ kubeconfig: file, env: {} }).connection.applyToHTTPSOptions({ headers: {} })).rejects.toThrow(/client-certificate "\/nonexistent\/cert.pem"/);
  });
});
