// Structural comparison of two .proto files: everything that affects the wire format or the
// meaning we attach to fields — messages, fields (name, number, type, repeated/map, oneof),
// oneofs, enums and their values, services and methods (types, streaming), extensions, and
// options such as (csi_secret) and (alpha_*) — but not comments or layout. Used to prove our
// hand-written proto/csi.proto matches the upstream spec file.
import protobuf from 'protobufjs';
import type { Enum, Field, Method, Namespace, ReflectionObject, Root, Service, Type } from 'protobufjs';
import { loadProtoRoot } from './proto-root.js';

export type ProtoDifferenceKind = 'missing' | 'extra' | 'changed';

export interface ProtoDifference {
  /** Full name of the element, e.g. `csi.v1.CreateVolumeRequest.secrets`. */
  readonly path: string;
  /** missing: only in theirs; extra: only in ours; changed: in both, differently. */
  readonly kind: ProtoDifferenceKind;
  readonly detail: string;
}

export interface CompareProtoOptions {
  /** Namespaces not compared (imported well-known types). Default: ['google']. */
  ignoreNamespaces?: readonly string[];
  includeDirs?: string[];
}

type Element = Type | Enum | Service | Field | Namespace;

function load(source: string | Root, options: CompareProtoOptions): Root {
  return typeof source === 'string' ? loadProtoRoot(source, { includeDirs: options.includeDirs ?? [] }) : source;
}

function fullName(obj: ReflectionObject): string {
  return obj.fullName.replace(/^\./, '');
}

/** Every element below the root keyed by full name, skipping ignored namespaces. */
function index(root: Root, ignore: readonly string[]): Map<string, Element> {
  const out = new Map<string, Element>();
  const visit = (ns: Namespace) => {
    for (const child of ns.nestedArray) {
      const name = fullName(child);
      if (ignore.some((i) => name === i || name.startsWith(`${i}.`))) continue;
      if (child instanceof protobuf.Field) {
        out.set(name, child); // extension declared at namespace level
      } else if (child instanceof protobuf.Type || child instanceof protobuf.Enum || child instanceof protobuf.Service) {
        out.set(name, child);
        if (child instanceof protobuf.Type || child instanceof protobuf.Service) visit(child);
      } else if (child instanceof protobuf.Namespace) {
        out.set(name, child);
        visit(child);
      }
    }
  };
  visit(root);
  return out;
}

function kindOf(e: Element): string {
  if (e instanceof protobuf.Type) return 'message';
  if (e instanceof protobuf.Enum) return 'enum';
  if (e instanceof protobuf.Service) return 'service';
  if (e instanceof protobuf.Field) return 'extension';
  return 'package';
}

/** Options as a stable string, ignoring protobufjs' own bookkeeping. */
function optionsText(options: Record<string, unknown> | undefined): string {
  if (!options) return '{}';
  const keys = Object.keys(options).sort();
  return `{${keys.map((k) => `${k}=${JSON.stringify(options[k])}`).join(', ')}}`;
}

function fieldType(f: Field): string {
  f.resolve();
  return f.resolvedType ? fullName(f.resolvedType) : f.type;
}

function fieldShape(f: Field): string {
  if (f.map) return `map<${(f as unknown as { keyType: string }).keyType}, ${fieldType(f)}>`;
  return `${f.repeated ? 'repeated ' : ''}${fieldType(f)}`;
}

function labelOf(f: Field): string {
  return f.map ? 'map' : f.repeated ? 'repeated' : 'singular';
}

class Differences {
  readonly list: ProtoDifference[] = [];
  add(path: string, kind: ProtoDifferenceKind, detail: string): void {
    this.list.push({ path, kind, detail });
  }
  same(path: string, what: string, ours: string, theirs: string): void {
    if (ours !== theirs) this.add(path, 'changed', `${what}: ours ${ours}, theirs ${theirs}`);
  }
}

function compareFields(path: string, ours: Field, theirs: Field, d: Differences): void {
  d.same(path, 'number', String(ours.id), String(theirs.id));
  d.same(path, 'type', fieldShape(ours), fieldShape(theirs));
  d.same(path, 'label', labelOf(ours), labelOf(theirs));
  d.same(path, 'oneof', ours.partOf?.name ?? '(none)', theirs.partOf?.name ?? '(none)');
  d.same(path, 'options', optionsText(ours.options), optionsText(theirs.options));
  if (ours.extend !== undefined || theirs.extend !== undefined) {
    d.same(path, 'extends', ours.extend ?? '(none)', theirs.extend ?? '(none)');
  }
}

function compareMessages(path: string, ours: Type, theirs: Type, d: Differences): void {
  d.same(path, 'options', optionsText(ours.options), optionsText(theirs.options));
  const names = new Set([...Object.keys(ours.fields), ...Object.keys(theirs.fields)]);
  for (const name of [...names].sort()) {
    const o = ours.fields[name];
    const t = theirs.fields[name];
    const fpath = `${path}.${name}`;
    if (!o && t) d.add(fpath, 'missing', `field ${name} = ${t.id} (${fieldShape(t)}) is not in ours`);
    else if (o && !t) d.add(fpath, 'extra', `field ${name} = ${o.id} (${fieldShape(o)}) is not in theirs`);
    else if (o && t) compareFields(fpath, o, t, d);
  }
  const oneofs = new Set([...Object.keys(ours.oneofs ?? {}), ...Object.keys(theirs.oneofs ?? {})]);
  for (const name of [...oneofs].sort()) {
    const o = ours.oneofs?.[name];
    const t = theirs.oneofs?.[name];
    const opath = `${path}.${name}`;
    if (!o) d.add(opath, 'missing', `oneof ${name} is not in ours`);
    else if (!t) d.add(opath, 'extra', `oneof ${name} is not in theirs`);
    else d.same(opath, 'oneof members', [...o.oneof].sort().join(','), [...t.oneof].sort().join(','));
  }
  d.same(path, 'reserved', JSON.stringify(ours.reserved ?? []), JSON.stringify(theirs.reserved ?? []));
}

function compareEnums(path: string, ours: Enum, theirs: Enum, d: Differences): void {
  d.same(path, 'options', optionsText(ours.options), optionsText(theirs.options));
  const names = new Set([...Object.keys(ours.values), ...Object.keys(theirs.values)]);
  for (const name of [...names].sort()) {
    const o = ours.values[name];
    const t = theirs.values[name];
    const vpath = `${path}.${name}`;
    if (o === undefined && t !== undefined) d.add(vpath, 'missing', `enum value ${name} = ${t} is not in ours`);
    else if (o !== undefined && t === undefined) d.add(vpath, 'extra', `enum value ${name} = ${o} is not in theirs`);
    else {
      d.same(vpath, 'value', String(o), String(t));
      d.same(vpath, 'options', optionsText(ours.valuesOptions?.[name]), optionsText(theirs.valuesOptions?.[name]));
    }
  }
}

function methodShape(m: Method): string {
  m.resolve();
  const req = m.resolvedRequestType ? fullName(m.resolvedRequestType) : m.requestType;
  const res = m.resolvedResponseType ? fullName(m.resolvedResponseType) : m.responseType;
  return `(${m.requestStream ? 'stream ' : ''}${req}) returns (${m.responseStream ? 'stream ' : ''}${res})`;
}

function compareServices(path: string, ours: Service, theirs: Service, d: Differences): void {
  d.same(path, 'options', optionsText(ours.options), optionsText(theirs.options));
  const names = new Set([...Object.keys(ours.methods), ...Object.keys(theirs.methods)]);
  for (const name of [...names].sort()) {
    const o = ours.methods[name];
    const t = theirs.methods[name];
    const mpath = `${path}.${name}`;
    if (!o && t) d.add(mpath, 'missing', `method ${name}${methodShape(t)} is not in ours`);
    else if (o && !t) d.add(mpath, 'extra', `method ${name}${methodShape(o)} is not in theirs`);
    else if (o && t) {
      d.same(mpath, 'signature', methodShape(o), methodShape(t));
      d.same(mpath, 'options', optionsText(o.options), optionsText(t.options));
    }
  }
}

/**
 * Every structural difference between two .proto files (paths, or roots already loaded), sorted
 * by element path. Empty when they describe the same schema.
 */
export function compareProtoDescriptors(
  ours: string | Root,
  theirs: string | Root,
  options: CompareProtoOptions = {},
): ProtoDifference[] {
  const ignore = options.ignoreNamespaces ?? ['google'];
  const a = index(load(ours, options), ignore);
  const b = index(load(theirs, options), ignore);
  const d = new Differences();
  const names = new Set([...a.keys(), ...b.keys()]);
  for (const name of [...names].sort()) {
    const o = a.get(name);
    const t = b.get(name);
    if (!o && t) {
      d.add(name, 'missing', `${kindOf(t)} ${name} is not in ours`);
      continue;
    }
    if (o && !t) {
      d.add(name, 'extra', `${kindOf(o)} ${name} is not in theirs`);
      continue;
    }
    if (!o || !t) continue;
    if (kindOf(o) !== kindOf(t)) {
      d.add(name, 'changed', `kind: ours ${kindOf(o)}, theirs ${kindOf(t)}`);
      continue;
    }
    if (o instanceof protobuf.Type && t instanceof protobuf.Type) compareMessages(name, o, t, d);
    else if (o instanceof protobuf.Enum && t instanceof protobuf.Enum) compareEnums(name, o, t, d);
    else if (o instanceof protobuf.Service && t instanceof protobuf.Service) compareServices(name, o, t, d);
    else if (o instanceof protobuf.Field && t instanceof protobuf.Field) compareFields(name, o, t, d);
    else if (kindOf(o) === 'package') d.same(name, 'options', optionsText(o.options), optionsText(t.options));
  }
  return d.list;
}

/** One line per difference, for assertion messages and reports. */
export function formatProtoDifferences(diffs: readonly ProtoDifference[]): string {
  return diffs.map((x) => `${x.kind.padEnd(7)} ${x.path}: ${x.detail}`).join('\n');
}
