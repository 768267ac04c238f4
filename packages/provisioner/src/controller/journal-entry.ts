// The provisioning journal's entries: "a volume named <pv> may exist on the backend for claim
// <uid>", written before CreateVolume and removed once a PV describes the volume or the backend
// confirmed there is none. Each entry is a Lease in the sidecar's namespace (the RBAC every
// provisioner deployment already has, see docs/adr/0006-provisioning-journal.md), carrying the
// CreateVolume request so a later process can repeat it (CreateVolume is idempotent on the name,
// so repeating it is how the volume id is learnt) and delete the volume. Secrets are never
// stored: only a reference to the provisioner secret.
//
// Pure: conversion between entries and Lease objects, names, comparisons.

import { createHash } from 'node:crypto';
import { formatMicroTime } from '@csi-sidecars-ts/shared';
import type { CreateVolumeRequest, Lease } from '@csi-sidecars-ts/shared';
import type { SecretReference } from './secrets.js';

/** Label selecting the journal of one driver (value: the driver name, label-safe). */
export const JOURNAL_LABEL = 'csi-sidecars-ts.io/journal';
/** Label with the claim UID, to find a claim's entry from the claim. */
export const JOURNAL_CLAIM_UID_LABEL = 'csi-sidecars-ts.io/claim-uid';
/** Annotation holding the entry as JSON. */
export const JOURNAL_ANNOTATION = 'csi-sidecars-ts.io/provisioning';
export const JOURNAL_ENTRY_VERSION = 1;

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

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * The Lease name of a volume's entry: `<pv name>.<driver>` (lower case, other characters as
 * '-'), so two drivers journaling in one namespace never collide; cut with a hash when too long.
 */
export function journalLeaseName(driverName: string, pvName: string): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  const full = `${clean(pvName)}.${clean(driverName)}`.replace(/^[.-]+|[.-]+$/g, '');
  if (full.length <= MAX_NAME) return full;
  return `${full.slice(0, MAX_NAME - 17).replace(/[.-]+$/, '')}.${shortHash(`${driverName}/${pvName}`)}`;
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
  const copy = structuredClone(rest) as StoredCreateVolumeRequest;
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

function microTime(rfc3339: string): string | undefined {
  const d = new Date(rfc3339);
  return Number.isNaN(d.getTime()) ? undefined : formatMicroTime(d);
}

/** The Lease that holds an entry. */
export function entryToLease(entry: JournalEntry, namespace: string, holder: string): Lease {
  return {
    metadata: {
      name: journalLeaseName(entry.driver, entry.pvName),
      namespace,
      labels: { [JOURNAL_LABEL]: journalLabelValue(entry.driver), [JOURNAL_CLAIM_UID_LABEL]: entry.claim.uid },
      annotations: { [JOURNAL_ANNOTATION]: JSON.stringify(entry) },
    },
    // Informational: which sidecar instance wrote it, and when (a MicroTime: six decimals).
    spec: { holderIdentity: holder, acquireTime: microTime(entry.startedAt) },
  } as Lease;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads the entry of a journal Lease; throws JournalEntryError naming what is wrong. */
export function entryFromLease(lease: Lease): JournalEntry {
  const name = `Lease ${lease.metadata?.namespace}/${lease.metadata?.name}`;
  const text = lease.metadata?.annotations?.[JOURNAL_ANNOTATION];
  if (text === undefined) throw new JournalEntryError(`${name} has no ${JOURNAL_ANNOTATION} annotation`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new JournalEntryError(`${name}: annotation ${JOURNAL_ANNOTATION} is not JSON: ${(err as Error).message}`);
  }
  if (!isRecord(raw)) throw new JournalEntryError(`${name}: annotation ${JOURNAL_ANNOTATION} is not an object`);
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
  return raw as unknown as JournalEntry;
}

/** Whether two entries describe the same provisioning (the start time aside). */
export function sameEntry(a: JournalEntry, b: JournalEntry): boolean {
  return JSON.stringify({ ...a, startedAt: '' }) === JSON.stringify({ ...b, startedAt: '' });
}
