// The shapes the event recorder deals in: a reference to the object an event is about, the
// event source, and the core/v1 Event as it is written to the apiserver.

export type EventType = 'Normal' | 'Warning';

/** core/v1 ObjectReference: which object an event is about. */
export interface ObjectReference {
  kind: string;
  apiVersion: string;
  name: string;
  /** Empty or undefined for cluster-scoped objects (their events go to namespace "default"). */
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** core/v1 EventSource; client-go also copies it to reportingController/reportingInstance. */
export interface EventSource {
  component: string;
  host?: string;
}

/** A core/v1 Event as the recorder writes it (timestamps RFC 3339, second precision). */
export interface CoreV1EventBody {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; [field: string]: unknown };
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  source: EventSource;
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  type: EventType;
  reportingComponent: string;
  reportingInstance: string;
}
