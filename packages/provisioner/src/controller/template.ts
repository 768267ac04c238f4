// Secret name/namespace templates: `${pv.name}`, `${pvc.annotations['k']}`... expanded with the
// exact rules of Go's os.Expand (the Go provisioner uses it), so any StorageClass that works
// there resolves to the same secret here.

function isShellSpecial(c: string | undefined): boolean {
  return c !== undefined && '*#$@!?-0123456789'.includes(c);
}

function isAlphaNum(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}

/** [name, width] after a '$', as os.Expand reads it. name '' with width > 0 is bad syntax (eaten). */
function shellName(s: string): [string, number] {
  if (s[0] === '{') {
    if (s.length > 2 && isShellSpecial(s[1]) && s[2] === '}') return [s.slice(1, 2), 3];
    for (let i = 1; i < s.length; i++) {
      if (s[i] === '}') {
        if (i === 1) return ['', 2];
        return [s.slice(1, i), i + 1];
      }
    }
    return ['', 1];
  }
  if (isShellSpecial(s[0])) return [s.slice(0, 1), 1];
  let i = 0;
  while (i < s.length && isAlphaNum(s[i])) i++;
  return [s.slice(0, i), i];
}

/** os.Expand: replaces $name and ${name} with mapping(name). */
export function goExpand(s: string, mapping: (name: string) => string): string {
  let out = '';
  let start = 0;
  for (let j = 0; j < s.length; j++) {
    if (s[j] === '$' && j + 1 < s.length) {
      out += s.slice(start, j);
      const [name, w] = shellName(s.slice(j + 1));
      if (name === '' && w > 0) {
        // bad syntax: the characters are dropped
      } else if (name === '') {
        out += '$';
      } else {
        out += mapping(name);
      }
      j += w;
      start = j + 1;
    }
  }
  return start === 0 ? s : out + s.slice(start);
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** Expands the template; any token without a value is an error naming the invalid tokens. */
export function resolveTemplate(template: string, params: ReadonlyMap<string, string>): string {
  const missing = new Set<string>();
  const resolved = goExpand(template, (k) => {
    const v = params.get(k);
    if (v === undefined) missing.add(k);
    return v ?? '';
  });
  if (missing.size > 0) throw new TemplateError(`invalid tokens: [${[...missing].sort().map((m) => JSON.stringify(m)).join(' ')}]`);
  return resolved;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDns1123Label(s: string): boolean {
  return s.length > 0 && s.length <= 63 && DNS1123_LABEL.test(s);
}

export function isDns1123Subdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}
