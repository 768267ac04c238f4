// Kubernetes label key/value syntax, to refuse bad --leader-election-labels at start-up instead of
// failing every Lease write later (the Go sidecars accept them and never become leader).

const NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix === '' || prefix.length > 253 || !DNS_SUBDOMAIN_RE.test(prefix)) {
      return 'the prefix before "/" must be a DNS subdomain (lower case, at most 253 characters)';
    }
  }
  if (name === '' || name.length > 63 || !NAME_RE.test(name)) {
    return 'the name must be 1-63 characters of [A-Za-z0-9-_.], starting and ending with a letter or digit';
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME_RE.test(value)) {
    return 'a value must be at most 63 characters of [A-Za-z0-9-_.], starting and ending with a letter or digit';
  }
  return undefined;
}
