// Test doubles for the sidecars' unit tests, the e2e harness and the bench: a fake CSI plugin
// over a real unix socket, a fake kube-apiserver, and small helpers. A separate entry point
// (`@csi-sidecars-ts/shared/testing`) so that none of it is part of the production API.
export * from './csi/testing/fake-plugin.js';
export * from './csi/testing/fake-volume-store.js';
export * from './csi/testing/grpc-status.js';
export * from './csi/testing/seeded-random.js';
export * from './kube/testing/fake-apiserver.js';
export * from './kube/testing/eventually.js';
