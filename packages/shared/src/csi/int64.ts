// 64-bit integers at the edge of our CSI clients. proto-loader decodes int64 as decimal strings
// (numbers would lose precision above 2^53, and capacities reach 2^63-1), our callers use bigint.
// The conversion walks the message type from the schema, so no field is converted by hand and a
// new int64 field in a future spec is picked up without code changes.
import type { Field, Type } from 'protobufjs';

const INT64_KINDS: ReadonlySet<string> = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const UNSIGNED_KINDS: ReadonlySet<string> = new Set(['uint64', 'fixed64']);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** True for a field (or map value) of any 64-bit integer kind. */
export function isInt64Field(field: Field): boolean {
  return INT64_KINDS.has(field.type);
}

function messageTypeOf(field: Field): Type | undefined {
  field.resolve();
  const t = field.resolvedType;
  return t && 'fieldsArray' in t ? t : undefined;
}

const containsCache = new WeakMap<Type, boolean>();

/** Whether a message type has a 64-bit integer anywhere inside it (memoised per type). */
export function containsInt64(type: Type, visiting: Set<Type> = new Set()): boolean {
  const known = containsCache.get(type);
  if (known !== undefined) return known;
  if (visiting.has(type)) return false; // recursive types: the outer walk decides
  visiting.add(type);
  let found = false;
  for (const field of type.fieldsArray) {
    if (isInt64Field(field)) found = true;
    else {
      const sub = messageTypeOf(field);
      if (sub && containsInt64(sub, visiting)) found = true;
    }
    if (found) break;
  }
  visiting.delete(type);
  containsCache.set(type, found);
  return found;
}

type Convert = (value: unknown, path: string, field: Field) => unknown;

function walk(type: Type, value: unknown, convert: Convert, path: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  if (!containsInt64(type)) return value;
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = { ...src };
  for (const field of type.fieldsArray) {
    const v = src[field.name];
    if (v === undefined || v === null) continue;
    const sub = messageTypeOf(field);
    if (sub ? !containsInt64(sub) : !isInt64Field(field)) continue;
    const fieldPath = path ? `${path}.${field.name}` : field.name;
    const one = (x: unknown, p: string) => (sub ? walk(sub, x, convert, p) : convert(x, p, field));
    if (field.map) {
      if (typeof v === 'object') {
        out[field.name] = Object.fromEntries(
          Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, one(x, `${fieldPath}[${k}]`)]),
        );
      }
    } else if (field.repeated) {
      if (Array.isArray(v)) out[field.name] = v.map((x, i) => one(x, `${fieldPath}[${i}]`));
    } else {
      out[field.name] = one(v, fieldPath);
    }
  }
  return out;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'object') return v === null ? 'null' : 'an object';
  return `${typeof v} ${String(v)}`;
}

const toBigint: Convert = (v, path) => {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  // A Long (if someone decoded with longs: Long) prints as its decimal value.
  if (typeof v === 'object' && v !== null && 'low' in v && 'high' in v) return BigInt(String(v));
  throw new TypeError(`${path}: expected a 64-bit integer, got ${describe(v)}`);
};

const toWire: Convert = (v, path, field) => {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      throw new TypeError(`${path}: ${v} is not an exact integer; pass 64-bit values as bigint`);
    }
    n = BigInt(v);
  } else if (typeof v === 'string' && /^-?\d+$/.test(v)) n = BigInt(v);
  else throw new TypeError(`${path}: expected a bigint, got ${describe(v)}`);
  const unsigned = UNSIGNED_KINDS.has(field.type);
  const [min, max] = unsigned ? [0n, UINT64_MAX] : [INT64_MIN, INT64_MAX];
  if (n < min || n > max) throw new RangeError(`${path}: ${n} is out of range for ${field.type}`);
  return n.toString();
};

/** A decoded message with every 64-bit integer (strings on the wire side) turned into bigint. */
export function int64ToBigint(type: Type, message: unknown): unknown {
  return walk(type, message, toBigint, type.name);
}

/**
 * A message ready for serialization: every bigint (or safe integer) in a 64-bit field becomes
 * its decimal string. Out-of-range and non-integer values are rejected with the field's path.
 */
export function int64ToWire(type: Type, message: unknown): unknown {
  return walk(type, message, toWire, type.name);
}
