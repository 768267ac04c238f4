// Wrapper module: pins external-snapshotter's client module, which ships the VolumeSnapshot CRDs
// (config/crd) that the provisioner's data-source tests install.
module csi-sidecars-ts.local/hack/snapshotter

go 1.26.0

require github.com/kubernetes-csi/external-snapshotter/client/v8 v8.7.0
