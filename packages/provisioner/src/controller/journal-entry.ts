// The provisioning journal's entries: "a volume named <pv> may exist on the backend for claim
// <uid>", written before CreateVolume and removed once a PV describes the volume or the backend
// confirmed there is none. Entries live as annotations on a few "shard" Leases in the sidecar's
// namespace (the RBAC every provisioner deployment already has, see
// docs/adr/0006-provisioning-journal.md): one annotation per entry, so entries of many
// concurrent provisions go into one Lease write (a JSON merge patch naming only the entries
// added and removed, which needs no read first and cannot lose another writer's entries).
// Each entry carries the CreateVolume request so a later process can repeat it (CreateVolume is
// idempotent on the name, so repeating it is how the volume id is learnt) and delete the
// volume. Secrets are never stored: only a reference to the provisioner secret.
//
// Pure: conversion between entries and Lease annotations, names, comparisons.

import { hash } from 'node:crypto';
import type { CreateVolumeRequest, Lease } from '@csi-sidecars-ts/shared';
import type { SecretReference } from './secrets.js';

/** Label selecting the journal of one driver (value: the driver name, label-safe). */
export const JOURNAL_LABEL = 'csi-sidecars-ts.io/journal';
/** Label of a node-deployment journal's shards (value: the node name, label-safe). */
export const JOURNAL_NODE_LABEL = 'csi-sidecars-ts.io/journal-node';
/** Prefix of the annotation keys holding entries; the rest is `<claim uid>.<hash of the PV name>`. */
export const JOURNAL_ENTRY_PREFIX = 'journal.csi-sidecars-ts.io/';
export const JOURNAL_ENTRY_VERSION = 1;
/**
 * The apiserver refuses objects whose annotations (keys and values) total more than 256 KiB; a
 * shard takes new entries while it holds less than this (the rest is headroom for writers that
 * do not know of each other's entries yet).
 */
export const JOURNAL_SHARD_BUDGET_BYTES = 192 * 1024;

/** The request as stored: no secrets, int64 fields as decimal strings. */
export type StoredCreateVolumeRequest = Omit<CreateVolumeRequest, 'secrets' | 'capacity_range'> & {
  capacity_range?: { required_bytes?: string; limit_bytes?: string };
};

export interface JournalEntry {
  version: number;
  driver: string;
  /** PV name, also the CreateVolume name. */
  pvName: string;
  claim: { namespace: string; name: string; uid: string };
  storageClass: string;
  /** Node-deployment mode: the node whose provisioner wrote the entry. */
  node?: string;
  /** The provisioner secret CreateVolume and DeleteVolume need, by reference. */
  secretRef?: SecretReference;
  request: StoredCreateVolumeRequest;
  /** When the entry was first written (RFC 3339). */
  startedAt: string;
}

export class JournalEntryError extends Error {
  override readonly name = 'JournalEntryError';
}

/** DNS subdomain names: at most 253 characters of [a-z0-9.-]. */
const MAX_NAME = 253;
/** The name part of an annotation key: at most 63 characters. */
const SAFE_UID = /^[a-z0-9]([-a-z0-9]{0,52}[a-z0-9])?$/;

function shortHash(text: string): string {
  return hash('sha256', text, 'hex').slice(0, 16);
}

/**
 * PV name → the hash part of its entry keys. A provisioning asks for the key of the same PV
 * name several times (record, settle, the journal controller's look); bounded, cleared when full.
 */
const pvNameHashes = new Map<string, string>();
const PV_NAME_HASHES_MAX = 4096;

function pvNameHash(pvName: string): string {
  let h = pvNameHashes.get(pvName);
  if (h === undefined) {
    if (pvNameHashes.size >= PV_NAME_HASHES_MAX) pvNameHashes.clear();
    h = shortHash(pvName).slice(0, 8);
    pvNameHashes.set(pvName, h);
  }
  return h;
}

function cleanName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
}

/**
 * The Lease name of shard `index` of a journal: `csi-journal-<index>.[<node>.]<driver>` (lower
 * case, other characters as '-'), so drivers, and nodes in node-deployment mode, never share a
 * shard; cut with a hash when too long.
 */
export function journalShardName(driverName: string, index: number, node?: string): string {
  const full = `csi-journal-${index}.${node ? `${cleanName(node)}.` : ''}${cleanName(driverName)}`.replace(/[.-]+$/g, '');
  if (full.length <= MAX_NAME) return full;
  return `${full.slice(0, MAX_NAME - 17).replace(/[.-]+$/, '')}.${shortHash(`${driverName}/${node ?? ''}/${index}`)}`;
}

/**
 * The annotation key of a volume's entry: the claim UID (so the entries of a claim are found
 * without reading them) and a hash of the PV name (a claim whose PV name changed with the flags
 * keeps both entries).
 */
export function journalEntryKey(claimUid: string, pvName: string): string {
  const uid = SAFE_UID.test(claimUid) ? claimUid : `x${shortHash(claimUid)}`;
  return `${JOURNAL_ENTRY_PREFIX}${uid}.${pvNameHash(pvName)}`;
}

/** The claim UID in an entry key, when the key spells it (UIDs are UUIDs in any real cluster). */
export function entryKeyClaimUid(key: string): string | undefined {
  const rest = key.slice(JOURNAL_ENTRY_PREFIX.length);
  const dot = rest.lastIndexOf('.');
  if (dot <= 0 || rest.startsWith('x')) return undefined;
  return rest.slice(0, dot);
}

/** Label values: at most 63 characters of [A-Za-z0-9_.-], alphanumeric at both ends. */
export function journalLabelValue(driverName: string): string {
  let v = driverName.replace(/[^A-Za-z0-9_.-]/g, '-');
  if (v.length > 63) v = `${v.slice(0, 46)}-${shortHash(driverName)}`;
  return v.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || shortHash(driverName);
}

/** The label selector of one driver's journal. */
export function journalSelector(driverName: string): string {
  return `${JOURNAL_LABEL}=${journalLabelValue(driverName)}`;
}

/** The request as it may be stored: secrets dropped, bigints as strings. */
export function storedRequest(request: CreateVolumeRequest): StoredCreateVolumeRequest {
  const { secrets: _secrets, capacity_range, ...rest } = request;
  // A JSON copy: the entry is stored and compared as JSON anyway (and this is several times
  // cheaper than structuredClone); no field left here is an int64 or bytes.
  const copy = JSON.parse(JSON.stringify(rest)) as StoredCreateVolumeRequest;
  if (capacity_range) {
    copy.capacity_range = {};
    if (capacity_range.required_bytes !== undefined && capacity_range.required_bytes !== null) copy.capacity_range.required_bytes = String(capacity_range.required_bytes);
    if (capacity_range.limit_bytes !== undefined && capacity_range.limit_bytes !== null) copy.capacity_range.limit_bytes = String(capacity_range.limit_bytes);
  }
  return copy;
}

/** The stored request back as a CreateVolume request (without secrets). */
export function replayRequest(stored: StoredCreateVolumeRequest): CreateVolumeRequest {
  const { capacity_range, ...rest } = structuredClone(stored);
  const request = rest as CreateVolumeRequest;
  if (capacity_range) {
    const range: { required_bytes?: bigint; limit_bytes?: bigint } = {};
    if (capacity_range.required_bytes !== undefined) range.required_bytes = BigInt(capacity_range.required_bytes);
    if (capacity_range.limit_bytes !== undefined) range.limit_bytes = BigInt(capacity_range.limit_bytes);
    request.capacity_range = range;
  }
  return request;
}

/** The labels of a journal shard. */
export function shardLabels(driverName: string, node?: string): Record<string, string> {
  const labels: Record<string, string> = { [JOURNAL_LABEL]: journalLabelValue(driverName) };
  if (node) labels[JOURNAL_NODE_LABEL] = journalLabelValue(node);
  return labels;
}

/** The annotation value of an entry. */
export function entryText(entry: JournalEntry): string {
  return JSON.stringify(entry);
}

/** Bytes an entry takes in a shard's annotations (key and value, as the apiserver counts them). */
export function entrySize(key: string, text: string): number {
  return Buffer.byteLength(key) + Buffer.byteLength(text);
}

/** A shard Lease holding `entries` (annotation key → entry). */
export function shardLease(name: string, namespace: string, labels: Record<string, string>, holder: string, entries: ReadonlyMap<string, string>): Lease {
  return {
    metadata: { name, namespace, labels, annotations: Object.fromEntries(entries) },
    // Informational: which sidecar instance created it.
    spec: { holderIdentity: holder },
  } as Lease;
}

/** The entry annotation keys of a Lease. */
export function entryKeys(lease: Lease): string[] {
  return Object.keys(lease.metadata?.annotations ?? {}).filter((k) => k.startsWith(JOURNAL_ENTRY_PREFIX));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads one entry of a journal Lease; throws JournalEntryError naming what is wrong. */
export function entryFromLease(lease: Lease, key: string): JournalEntry {
  const name = `Lease ${lease.metadata?.namespace}/${lease.metadata?.name} annotation ${key}`;
  const text = lease.metadata?.annotations?.[key];
  if (text === undefined) throw new JournalEntryError(`${name} is missing`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new JournalEntryError(`${name} is not JSON: ${(err as Error).message}`);
  }
  if (!isRecord(raw)) throw new JournalEntryError(`${name} is not an object`);
  if (raw.version !== JOURNAL_ENTRY_VERSION) throw new JournalEntryError(`${name}: unsupported journal entry version ${JSON.stringify(raw.version)}`);
  const claim = raw.claim;
  const request = raw.request;
  const str = (v: unknown) => typeof v === 'string' && v !== '';
  if (!str(raw.driver) || !str(raw.pvName)) throw new JournalEntryError(`${name}: entry lacks driver or pvName`);
  if (!isRecord(claim) || !str(claim.uid) || !str(claim.name) || !str(claim.namespace)) throw new JournalEntryError(`${name}: entry lacks the claim's namespace, name and uid`);
  if (!isRecord(request) || request.name !== raw.pvName) throw new JournalEntryError(`${name}: entry lacks a CreateVolume request for ${String(raw.pvName)}`);
  const range = request.capacity_range;
  if (range !== undefined && (!isRecord(range) || [range.required_bytes, range.limit_bytes].some((b) => b !== undefined && (typeof b !== 'string' || !/^\d+$/.test(b))))) {
    throw new JournalEntryError(`${name}: entry has an invalid capacity_range`);
  }
  const ref = raw.secretRef;
  if (ref !== undefined && (!isRecord(ref) || !str(ref.name) || !str(ref.namespace))) throw new JournalEntryError(`${name}: entry has an invalid secretRef`);
  if (journalEntryKey(claim.uid as string, raw.pvName as string) !== key) throw new JournalEntryError(`${name}: the key does not match the entry's claim UID and PV name`);
  return raw as unknown as JournalEntry;
}

/** The claim UIDs of a shard's entries (read from the keys; a key that hashes its UID is parsed). */
export function entryClaimUids(lease: Lease): string[] {
  const out = new Set<string>();
  for (const key of entryKeys(lease)) {
    let uid = entryKeyClaimUid(key);
    if (uid === undefined) {
      try {
        uid = entryFromLease(lease, key).claim.uid;
      } catch {
        continue;
      }
    }
    out.add(uid);
  }
  return [...out];
}

/**
 * The entry keys of a Lease that may belong to claim `uid` (entryKeyMayBelongTo), without
 * slicing the many keys that spell another UID: a shard holds hundreds of entries and the
 * journal controller looks for one claim's.
 */
export function entryKeysMayBelongTo(lease: Lease, uid: string): string[] {
  const out: string[] = [];
  const annotations = lease.metadata?.annotations;
  if (!annotations) return out;
  const start = JOURNAL_ENTRY_PREFIX.length;
  for (const key in annotations) {
    if (!key.startsWith(JOURNAL_ENTRY_PREFIX)) continue;
    const dot = key.lastIndexOf('.');
    // As entryKeyClaimUid: no UID spelled (hashed, or no dot after it) may be anyone's.
    if (dot <= start || key.charCodeAt(start) === 0x78 /* x */ || (dot === start + uid.length && key.startsWith(uid, start))) out.push(key);
  }
  return out;
}

/** Whether the entry under `key` may belong to claim `uid` (false only when the key says otherwise). */
export function entryKeyMayBelongTo(key: string, uid: string): boolean {
  const spelled = entryKeyClaimUid(key);
  return spelled === undefined || spelled === uid;
}

/** The keys of entries added or changed from `before` to `after` (a shard update). */
export function changedEntryKeys(before: Lease | undefined, after: Lease): string[] {
  const old = before?.metadata?.annotations ?? {};
  const now = after.metadata?.annotations ?? {};
  return entryKeys(after).filter((k) => old[k] !== now[k]);
}

/** Whether two entries describe the same provisioning (the start time aside). */
export function sameEntry(a: JournalEntry, b: JournalEntry): boolean {
  return JSON.stringify({ ...a, startedAt: '' }) === JSON.stringify({ ...b, startedAt: '' });
}
