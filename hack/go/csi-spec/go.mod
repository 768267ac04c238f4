// Wrapper module: pins the CSI spec whose csi.proto our own proto is checked against.
module csi-sidecars-ts.local/hack/csi-spec

go 1.26.0

require github.com/container-storage-interface/spec v1.12.0
