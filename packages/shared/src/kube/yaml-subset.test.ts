import { describe, expect, it } from '@jest/globals';
import { loadYaml } from '@kubernetes/client-node';
import { parseYamlSubset, YamlSubsetError } from './yaml-subset.js';

// Every document here is parsed by both readers: ours must agree with js-yaml (client-node's).
const agreeing: Record<string, string> = {
  'kubectl style': [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    '    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=',
    '    server: https://127.0.0.1:6443',
    '  name: kind-kind',
    'contexts:',
    '- context:',
    '    cluster: kind-kind',
    '    user: kind-kind',
    '    namespace: "team-a"',
    '  name: kind-kind',
    'current-context: kind-kind',
    'kind: Config',
    'preferences: {}',
    'users:',
    '- name: kind-kind',
    '  user:',
    '    client-certificate-data: LS0t',
    "    client-key-data: 'LS0t'",
    '',
  ].join('\n'),
  'indented sequences, comments, quotes and scalars': [
    '# leading comment',
    '---',
    'clusters:',
    '  - name: "a # not a comment"   # a comment',
    '    cluster:',
    '      server: https://a.example:6443/prefix#frag',
    '      insecure-skip-tls-verify: true',
    '      tls-server-name: \'it\'\'s\'',
    'users:',
    '  - name: exec-user',
    '    user:',
    '      exec:',
    '        apiVersion: client.authentication.k8s.io/v1',
    '        command: aws',
    '        args: ["eks", get-token, "--cluster-name", \'x\']',
    '        env:',
    '          - name: AWS_PROFILE',
    '            value: prod',
    '        env2: null',
    '        provideClusterInfo: false',
    '        interactiveMode: Never',
    '        n: 42',
    '        f: 1.5',
    '        tilde: ~',
    '        escaped: "a\\tb\\u00e9\\"q\\\\"',
    '        flowmap: {a: 1, "b": two, c: [x, y]}',
    '        empty:',
    'current-context: ""',
    '...',
  ].join('\n'),
  'block scalars': [
    'a: |',
    '  line one',
    '  # not a comment',
    '',
    '  line three',
    'b: |-',
    '  keep',
    '  no newline',
    'c: >',
    '  folded',
    '  text',
    '',
    '  para',
    'd: >-',
    '  x',
    'e: |+',
    '  kept',
    '',
    'f: end',
  ].join('\n'),
  'sequence of sequences and empty items': ['- - a', '  - b', '-', '- c', '- {}', '- []'].join('\n'),
  'JSON is YAML': JSON.stringify({ apiVersion: 'v1', clusters: [{ name: 'x', cluster: { server: 'https://x' } }], n: [1, true, null] }, null, 2),
  'CRLF line ends': 'a: 1\r\nb:\r\n  - x\r\n',
};

describe('parseYamlSubset', () => {
  for (const [name, doc] of Object.entries(agreeing)) {
    it(`agrees with js-yaml: ${name}`, () => {
      expect(parseYamlSubset(doc)).toEqual(loadYaml(doc) ?? null);
    });
  }

  it('reads an empty document as null', () => {
    expect(parseYamlSubset('# nothing here\n')).toBeNull();
  });

  it('reads the kubeconfig fields with the right types', () => {
    const got = parseYamlSubset(agreeing['indented sequences, comments, quotes and scalars']!) as {
      clusters: { name: string; cluster: Record<string, unknown> }[];
    };
    expect(got.clusters[0]!.name).toBe('a # not a comment');
    expect(got.clusters[0]!.cluster['insecure-skip-tls-verify']).toBe(true);
    expect(got.clusters[0]!.cluster.server).toBe('https://a.example:6443/prefix#frag');
  });

  const unsupported: Record<string, string> = {
    anchors: 'a: &x 1\nb: *x\n',
    tags: 'a: !!str 1\n',
    'complex keys': '? a\n: b\n',
    'several documents': 'a: 1\n---\nb: 2\n',
    'multi-line plain scalar': 'a: one\n  two\n',
    'multi-line quoted scalar': 'a: "one\n  two"\n',
    'flow collection over lines': 'a: [1,\n  2]\n',
    'duplicate keys': 'a: 1\na: 2\n',
    'tab indentation': 'a:\n\t- b\n',
  };
  for (const [name, doc] of Object.entries(unsupported)) {
    it(`refuses ${name} with YamlSubsetError (the caller falls back to a full parser)`, () => {
      expect(() => parseYamlSubset(doc)).toThrow(YamlSubsetError);
    });
  }
});
