// Secret-free renderings of CSI messages for logs. Secret fields are found from the
// (csi_secret) option in the schema — never from key names — at any depth: nested messages,
// repeated messages, and message values of maps. The output mirrors what the Go sidecars log
// (csi-lib-utils protosanitizer): only populated fields, proto field names, enum names, and
// secret fields replaced by "***stripped***".
import type { Enum, Field, Type } from 'protobufjs';

export const STRIPPED = '***stripped***';

export function isSecretField(field: Field): boolean {
  return field.options?.['(csi_secret)'] === true;
}

function resolved(field: Field): Type | Enum | undefined {
  field.resolve();
  return field.resolvedType ?? undefined;
}

function isMessageType(t: Type | Enum | undefined): t is Type {
  return t !== undefined && 'fieldsArray' in t;
}

function isEnumType(t: Type | Enum | undefined): t is Enum {
  return t !== undefined && 'valuesById' in t;
}

/** proto3 presence: a field is populated when it differs from its zero value. */
function isPopulated(field: Field, v: unknown, inOneof: boolean): boolean {
  if (v === undefined || v === null) return false;
  if (field.map) return typeof v === 'object' && Object.keys(v).length > 0;
  if (field.repeated) return Array.isArray(v) && v.length > 0;
  if (inOneof) return true;
  const t = resolved(field);
  if (isMessageType(t)) return true;
  if (isEnumType(t)) return v !== 0 && v !== t.valuesById[0];
  switch (typeof v) {
    case 'string':
      return v !== '' && !(/^-?0+$/.test(v) && field.type !== 'string');
    case 'number':
      return v !== 0;
    case 'bigint':
      return v !== 0n;
    case 'boolean':
      return v;
    default:
      return true;
  }
}

function renderSingle(field: Field, v: unknown): unknown {
  const t = resolved(field);
  if (isMessageType(t)) return stripSecrets(t, v);
  if (isEnumType(t) && typeof v === 'number') return t.valuesById[v] ?? v;
  return v;
}

/**
 * A plain copy of `message` (a decoded or to-be-encoded message of `type`) holding only its
 * populated fields, with every secret field replaced by "***stripped***". Keys not in the schema
 * (such as proto-loader's virtual oneof properties) are left out; they are not sent anyway.
 */
export function stripSecrets(type: Type, message: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (message === null || typeof message !== 'object') return out;
  const src = message as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const v = src[field.name];
    if (!isPopulated(field, v, field.partOf !== null && field.partOf !== undefined)) continue;
    if (isSecretField(field)) {
      out[field.name] = STRIPPED;
    } else if (field.map) {
      out[field.name] = Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, renderSingle(field, x)]),
      );
    } else if (field.repeated) {
      out[field.name] = (v as unknown[]).map((x) => renderSingle(field, x));
    } else {
      out[field.name] = renderSingle(field, v);
    }
  }
  return out;
}

/**
 * JSON with keys sorted at every level (as Go's encoding/json writes maps) and 64-bit integers
 * written as plain numbers, never rounded.
 */
export function toLogJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
      return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(toLogJson).join(',')}]`;
      if (Buffer.isBuffer(value)) return JSON.stringify(value.toString('base64'));
      const keys = Object.keys(value).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${toLogJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
    }
    default:
      return JSON.stringify(String(value));
  }
}

/** The log text of a message: stripSecrets + toLogJson. */
export function sanitizedJson(type: Type, message: unknown): string {
  return toLogJson(stripSecrets(type, message));
}
